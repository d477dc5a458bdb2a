"""Programme table adapter: consistent reads and conditional status writes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from telecast.adapters.aws import error_code
from telecast.programme import TIME_ATTRIBUTES
from telecast.time_rules import to_iso_utc


class _ExactNumbers(TypeDeserializer):
    """boto3's deserializer, but a number DynamoDB returns with 39+ digits does not raise.

    DynamoDB can hand back a stored number written out in full (more digits than boto3's
    38-digit context allows); read it exactly instead of failing the whole item.
    """

    def _deserialize_n(self, value: str) -> Decimal:
        return Decimal(value)


_serializer = TypeSerializer()
_deserializer = _ExactNumbers()


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
        for index, attribute in enumerate(TIME_ATTRIBUTES):
            names[f"#t{index}"] = attribute
            if attribute not in expected_times:
                conditions.append(f"attribute_not_exists(#t{index})")
            elif expected_times[attribute] is None:
                conditions.append(f"attribute_type(#t{index}, :null)")
                values[":null"] = "NULL"
            else:
                conditions.append(f"#t{index} = :t{index}")
                values[f":t{index}"] = expected_times[attribute]
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
            if error_code(failure) == "ValidationException" and "size" in str(failure):
                return False  # an item at the 400 KB limit has no room for a status
            raise
