"""SNS adapter: publish one notification with per-protocol bodies and filterable attributes."""

from __future__ import annotations

from typing import Any

from telecast.notification import Notification


class TopicPublisher:
    """The stack's notification topic."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self.topic_arn = topic_arn

    def publish(self, notification: Notification) -> str:
        """Publish and return the SNS message id."""
        response = self._client.publish(
            TopicArn=self.topic_arn,
            Message=notification.sns_message(),
            MessageStructure="json",
            MessageAttributes=notification.sns_attributes(),
        )
        return str(response["MessageId"])
