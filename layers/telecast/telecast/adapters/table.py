"""Programme table adapter: consistent reads and conditional status writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from telecast.adapters.aws import error_code
from telecast.time_rules import to_iso_utc

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(image: dict[str, Any]) -> dict[str, Any]:
    """Deserialise a DynamoDB-JSON image into plain Python values."""
    return {key: _deserializer.deserialize(value) for key, value in image.items()}


def to_image(item: dict[str, Any]) -> dict[str, Any]:
    """Serialise plain Python values into DynamoDB JSON."""
    return {key: _serializer.serialize(value) for key, value in item.items()}


class ProgrammeTable:
    """The broadcaster's programme table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.name = table_name

    def get(self, program_id: str) -> dict[str, Any] | None:
        """The item as it is now (strongly consistent), or None."""
        response = self._client.get_item(
            TableName=self.name, Key={"program_id": {"S": program_id}}, ConsistentRead=True
        )
        item = response.get("Item")
        return to_item(item) if item else None

    def set_status(
        self,
        program_id: str,
        status: str,
        expected_times: dict[str, Any],
        at: datetime,
        error: str | None = None,
    ) -> bool:
        """Write the notification status while the item still has `expected_times`.

        Returns False when the item changed or went meanwhile: a newer stream record
        will decide its status, so nothing is clobbered.
        """
        names = {"#status": "notification_status", "#updated": "notification_updated_at"}
        values: dict[str, Any] = {":status": status, ":updated": to_iso_utc(at)}
        update = "SET #status = :status, #updated = :updated"
        if error is None:
            update += " REMOVE #error"
        else:
            update += ", #error = :error"
            values[":error"] = error
        names["#error"] = "notification_error"

        conditions = ["attribute_exists(program_id)"]
        for index, (attribute, value) in enumerate(sorted(expected_times.items())):
            names[f"#t{index}"] = attribute
            if value is None:
                conditions.append(f"attribute_not_exists(#t{index})")
            else:
                conditions.append(f"#t{index} = :t{index}")
                values[f":t{index}"] = value
        try:
            self._client.update_item(
                TableName=self.name,
                Key={"program_id": {"S": program_id}},
                UpdateExpression=update,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_image(values),
            )
            return True
        except ClientError as failure:
            if error_code(failure) == "ConditionalCheckFailedException":
                return False
            raise
