"""The template's security and operations promises, read from template.yaml and its transform.

IAM is checked on the SAM-transformed template, since that is what CloudFormation receives
(SAM adds roles and managed policies of its own to functions without a `Role`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_VALUE = object()

LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
TRACES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
KEY = {"kms:Decrypt", "kms:GenerateDataKey"}
SCHEDULES = {"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"}

# Every action each function's code calls, and nothing else (KEY only with the stack's key).
EXPECTED_ACTIONS: dict[str, set[str]] = {
    "StreamFunction": LOGS
    | TRACES
    | KEY
    | SCHEDULES
    | {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "iam:PassRole",
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    },
    "NotifierFunction": LOGS
    | TRACES
    | KEY
    | {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "sns:Publish",
        "sqs:SendMessage",
    },
    "ReconcileFunction": LOGS
    | TRACES
    | KEY
    | SCHEDULES
    | {
        "dynamodb:Scan",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "scheduler:ListSchedules",
        "scheduler:GetSchedule",
        "iam:PassRole",
        "lambda:InvokeFunction",
    },
    "ApiFunction": LOGS
    | TRACES
    | KEY
    | {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    },
}
EXPECTED_SCHEDULER_ROLE_ACTIONS = {"lambda:InvokeFunction", "sqs:SendMessage"} | KEY

# Actions that support no resource-level permission: the only ones allowed on "*".
WILDCARD_RESOURCE_ACTIONS = TRACES | {"scheduler:ListSchedules"}

IDENTITY_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"}
ENCRYPTION_KEYS = ["CUSTOMER_MANAGED", "AWS_MANAGED"]
CUSTOMER_KEY = {"Ref": "DataKey"}
CUSTOMER_KEY_ARN = {"Fn::GetAtt": ["DataKey", "Arn"]}


# ------------------------------------------------------------------ reading the template
def _value(node: Any, parameters: dict[str, str]) -> Any:
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return parameters[node["Ref"]]
    return node


def _holds(expression: Any, parameters: dict[str, str], conditions: dict[str, Any]) -> bool:
    [(function, arguments)] = expression.items()
    if function == "Fn::Equals":
        left, right = (str(_value(argument, parameters)) for argument in arguments)
        return left == right
    if function == "Fn::Not":
        return not _holds(arguments[0], parameters, conditions)
    if function == "Fn::And":
        return all(_holds(argument, parameters, conditions) for argument in arguments)
    if function == "Fn::Or":
        return any(_holds(argument, parameters, conditions) for argument in arguments)
    if function == "Condition":
        return _holds(conditions[arguments], parameters, conditions)
    raise AssertionError(f"condition function not handled by the test: {function}")


def conditions(template: dict[str, Any], **overrides: str) -> dict[str, bool]:
    """Every condition of the template, for its default parameters with some overridden."""
    parameters = {
        name: str(overrides.get(name, spec.get("Default", "")))
        for name, spec in template.get("Parameters", {}).items()
    }
    raw = template.get("Conditions", {})
    return {name: _holds(expression, parameters, raw) for name, expression in raw.items()}


def resolve(node: Any, truth: dict[str, bool]) -> Any:
    """The node with every Fn::If decided and every AWS::NoValue removed."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return resolve(when_true if truth[name] else when_false, truth)
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        pairs = ((key, resolve(value, truth)) for key, value in node.items())
        return {key: value for key, value in pairs if value is not NO_VALUE}
    if isinstance(node, list):
        items = (resolve(item, truth) for item in node)
        return [item for item in items if item is not NO_VALUE]
    return node


def resources(template: dict[str, Any], truth: dict[str, bool], kind: str) -> dict[str, Any]:
    """The resources of one type that exist under these conditions, resolved."""
    return {
        name: resolve(resource.get("Properties", {}), truth)
        for name, resource in template["Resources"].items()
        if resource["Type"] == kind and truth.get(resource.get("Condition", ""), True)
    }


def as_list(value: Any) -> list[Any]:
    """A scalar as a one-item list; a list as it is."""
    return value if isinstance(value, list) else [value]


def sub_text(value: Any) -> str:
    """The text of a `!Sub` string, or of a plain string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        return str(text if isinstance(text, str) else text[0])
    return str(value)


def role_of(function: dict[str, Any]) -> str:
    """The logical id of the role a transformed function runs with."""
    role = function["Role"]
    assert isinstance(role, dict), role
    assert "Fn::GetAtt" in role, role
    return str(role["Fn::GetAtt"][0])


def role_statements(
    template: dict[str, Any], truth: dict[str, bool], role: str
) -> list[dict[str, Any]]:
    """Every statement granted to a role: its inline policies and policies attached to it."""
    properties = resources(template, truth, "AWS::IAM::Role")[role]
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for kind in IDENTITY_POLICY_TYPES:
        for policy in resources(template, truth, kind).values():
            attached = policy.get("Roles", []) + as_list(policy.get("RoleName", []))
            if {"Ref": role} in attached:
                documents.append(policy["PolicyDocument"])
    return [statement for document in documents for statement in document["Statement"]]


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    """Every action allowed by the statements."""
    return {action for statement in statements for action in as_list(statement["Action"])}


def statements_with(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    """The statements that allow one action."""
    return [statement for statement in statements if action in as_list(statement["Action"])]


def identity_statements(
    template: dict[str, Any], truth: dict[str, bool]
) -> list[tuple[str, dict[str, Any]]]:
    """Every statement of every role and identity policy, with the resource granting it."""
    found = []
    for name, role in resources(template, truth, "AWS::IAM::Role").items():
        for policy in role.get("Policies", []):
            found += [(name, statement) for statement in policy["PolicyDocument"]["Statement"]]
    for kind in IDENTITY_POLICY_TYPES:
        for name, policy in resources(template, truth, kind).items():
            found += [(name, statement) for statement in policy["PolicyDocument"]["Statement"]]
    return found


def functions(transformed: dict[str, Any], truth: dict[str, bool]) -> dict[str, Any]:
    """Every Lambda function of the transformed template."""
    return resources(transformed, truth, "AWS::Lambda::Function")


def function_name(name: str, function: dict[str, Any]) -> str:
    """The function's name as a `!Sub` text: its FunctionName, or the generated one."""
    if "FunctionName" in function:
        return sub_text(function["FunctionName"])
    return "${" + name + "}"


def customer_key(transformed: dict[str, Any]) -> dict[str, bool]:
    """Conditions when the stack creates its own key (and the watch queue exists)."""
    return conditions(transformed, EncryptionKey="CUSTOMER_MANAGED", NotificationsQueue="true")


# ------------------------------------------------------------------ IAM
def test_every_function_runs_with_a_role_of_its_own_and_no_managed_policy(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)
    roles = {name: role_of(function) for name, function in functions(transformed, truth).items()}
    declared = resources(transformed, truth, "AWS::IAM::Role")

    assert len(set(roles.values())) == len(roles), roles
    for function, role in roles.items():
        assert "ManagedPolicyArns" not in declared[role], f"{function}: {role} has managed policies"
    for kind in ("AWS::IAM::ManagedPolicy",):
        assert not resources(transformed, truth, kind), "no managed policy is attached anywhere"


@pytest.mark.parametrize("encryption", ENCRYPTION_KEYS)
def test_each_function_is_granted_exactly_the_actions_its_code_calls(
    transformed: dict[str, Any], encryption: str
) -> None:
    truth = conditions(transformed, EncryptionKey=encryption)
    expected = {
        name: actions if encryption == "CUSTOMER_MANAGED" else actions - KEY
        for name, actions in EXPECTED_ACTIONS.items()
    }

    granted = {
        name: actions_of(role_statements(transformed, truth, role_of(function)))
        for name, function in functions(transformed, truth).items()
    }

    assert granted == {name: expected[name] for name in granted}, "update EXPECTED_ACTIONS"
    assert set(granted) == set(EXPECTED_ACTIONS), "a function is missing or not expected"


@pytest.mark.parametrize("encryption", ENCRYPTION_KEYS)
def test_the_scheduler_role_may_only_invoke_the_notifier_and_keep_dead_letters(
    transformed: dict[str, Any], encryption: str
) -> None:
    truth = conditions(transformed, EncryptionKey=encryption)
    expected = EXPECTED_SCHEDULER_ROLE_ACTIONS
    if encryption == "AWS_MANAGED":
        expected = expected - KEY

    statements = role_statements(transformed, truth, "SchedulerRole")

    assert actions_of(statements) == expected
    [invoke] = statements_with(statements, "lambda:InvokeFunction")
    assert invoke["Resource"] == {"Fn::GetAtt": ["NotifierFunction", "Arn"]}


def test_no_identity_statement_grants_every_resource_unless_the_action_allows_no_other(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)
    allowed = TRACES | ({"scheduler:ListSchedules"} & EXPECTED_ACTIONS["ReconcileFunction"])
    if "ReconcileFunction" not in transformed["Resources"]:
        allowed = TRACES

    for owner, statement in identity_statements(transformed, truth):
        assert statement["Effect"] == "Allow", owner
        assert "NotAction" not in statement, owner
        assert not any("*" in action for action in as_list(statement["Action"])), owner
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= allowed, (owner, statement)


def test_queue_and_topic_policies_name_their_own_resource(transformed: dict[str, Any]) -> None:
    truth = customer_key(transformed)
    policies = resources(transformed, truth, "AWS::SQS::QueuePolicy")
    policies |= resources(transformed, truth, "AWS::SNS::TopicPolicy")

    for name, policy in policies.items():
        for statement in policy["PolicyDocument"]["Statement"]:
            assert "*" not in as_list(statement["Resource"]), name
            assert "Condition" in statement, f"{name}: a service principal needs a condition"


def test_function_roles_trust_only_lambda_in_this_account(transformed: dict[str, Any]) -> None:
    truth = customer_key(transformed)
    declared = resources(transformed, truth, "AWS::IAM::Role")

    for function in functions(transformed, truth).values():
        [trust] = declared[role_of(function)]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        }


def test_the_scheduler_role_trusts_only_scheduler_for_the_stack_s_group(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)
    role = resources(transformed, truth, "AWS::IAM::Role")["SchedulerRole"]

    [trust] = role["AssumeRolePolicyDocument"]["Statement"]

    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert trust["Condition"]["ArnEquals"] == {
        "aws:SourceArn": {"Fn::GetAtt": ["ProgrammeScheduleGroup", "Arn"]}
    }


def test_only_the_scheduler_role_can_be_passed_and_only_to_scheduler(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)
    passing = [
        statement
        for _, statement in identity_statements(transformed, truth)
        if "iam:PassRole" in as_list(statement["Action"])
    ]

    assert passing
    for statement in passing:
        assert statement["Action"] == "iam:PassRole"
        assert statement["Resource"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
        }


def test_schedule_changes_reach_only_the_stack_s_schedule_group(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)
    group_schedules = (
        "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:"
        "schedule/${ProgrammeScheduleGroup}/*"
    )

    for owner, statement in identity_statements(transformed, truth):
        named = set(as_list(statement["Action"])) - {"scheduler:ListSchedules"}
        if any(action.startswith("scheduler:") for action in named):
            assert sub_text(statement["Resource"]) == group_schedules, owner


def test_stream_reads_reach_only_the_programme_table_s_stream(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)
    stream = role_of(functions(transformed, truth)["StreamFunction"])
    statements = role_statements(transformed, truth, stream)

    for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
        [statement] = statements_with(statements, action)
        assert statement["Resource"] == {"Fn::GetAtt": ["ProgrammesTable", "StreamArn"]}
    [listing] = statements_with(statements, "dynamodb:ListStreams")
    assert sub_text(listing["Resource"]) == "${ProgrammesTable.Arn}/stream/*"


# ------------------------------------------------------------------ logs
def _log_groups_by_name(template: dict[str, Any], truth: dict[str, bool]) -> dict[str, str]:
    groups = resources(template, truth, "AWS::Logs::LogGroup")
    return {
        sub_text(group["LogGroupName"]): name
        for name, group in groups.items()
        if "LogGroupName" in group
    }


def test_every_function_has_a_log_group_with_retention(transformed: dict[str, Any]) -> None:
    truth = customer_key(transformed)
    by_name = _log_groups_by_name(transformed, truth)
    groups = resources(transformed, truth, "AWS::Logs::LogGroup")

    for name, function in functions(transformed, truth).items():
        group = by_name.get("/aws/lambda/" + function_name(name, function))
        assert group is not None, f"{name} has no log group of its own"
        assert groups[group]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for name, group in groups.items():
        assert "RetentionInDays" in group, f"{name} keeps its logs forever"


def test_each_function_writes_logs_only_to_its_own_log_group(transformed: dict[str, Any]) -> None:
    truth = customer_key(transformed)
    by_name = _log_groups_by_name(transformed, truth)

    for name, function in functions(transformed, truth).items():
        own = by_name["/aws/lambda/" + function_name(name, function)]
        statements = role_statements(transformed, truth, role_of(function))
        for statement in statements_with(statements, "logs:PutLogEvents"):
            assert statement["Resource"] == {"Fn::GetAtt": [own, "Arn"]}, name


def test_fixed_function_names_fit_a_stack_name_of_55_characters(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)

    for name, function in functions(transformed, truth).items():
        if "FunctionName" in function:
            text = sub_text(function["FunctionName"]).replace("${AWS::StackName}", "s" * 55)
            assert len(text) <= 64, name


# ------------------------------------------------------------------ encryption
def test_every_queue_table_topic_and_log_group_uses_the_stack_key_when_it_exists(
    transformed: dict[str, Any],
) -> None:
    truth = customer_key(transformed)

    for name, queue in resources(transformed, truth, "AWS::SQS::Queue").items():
        assert queue.get("KmsMasterKeyId") == CUSTOMER_KEY, name
    for name, table in resources(transformed, truth, "AWS::DynamoDB::Table").items():
        sse = table["SSESpecification"]
        assert (sse["SSEEnabled"], sse.get("KMSMasterKeyId")) == (True, CUSTOMER_KEY), name
    for name, topic in resources(transformed, truth, "AWS::SNS::Topic").items():
        assert topic.get("KmsMasterKeyId") == CUSTOMER_KEY, name
    for name, group in resources(transformed, truth, "AWS::Logs::LogGroup").items():
        assert group.get("KmsKeyId") == CUSTOMER_KEY_ARN, name
    for name, function in functions(transformed, truth).items():
        assert function.get("KmsKeyArn") == CUSTOMER_KEY_ARN, name


def test_every_queue_table_and_topic_is_encrypted_with_aws_managed_keys_otherwise(
    transformed: dict[str, Any],
) -> None:
    truth = conditions(transformed, EncryptionKey="AWS_MANAGED", NotificationsQueue="true")

    assert not resources(transformed, truth, "AWS::KMS::Key")
    for name, queue in resources(transformed, truth, "AWS::SQS::Queue").items():
        # SNS cannot deliver to a queue under alias/aws/sqs: SQS-managed encryption instead.
        assert queue.get("SqsManagedSseEnabled") is True, name
        assert "KmsMasterKeyId" not in queue, name
    for name, table in resources(transformed, truth, "AWS::DynamoDB::Table").items():
        assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}, name
    for name, topic in resources(transformed, truth, "AWS::SNS::Topic").items():
        assert topic.get("KmsMasterKeyId") == "alias/aws/sns", name


def test_the_key_rotates_and_its_policy_names_the_account_and_two_services_only(
    template: dict[str, Any],
) -> None:
    truth = conditions(template, EncryptionKey="CUSTOMER_MANAGED")
    key = resources(template, truth, "AWS::KMS::Key")["DataKey"]

    principals = {}
    for statement in key["KeyPolicy"]["Statement"]:
        principal = statement["Principal"]
        principals[sub_text(principal.get("AWS") or principal.get("Service"))] = statement

    assert key["EnableKeyRotation"] is True
    assert set(principals) == {
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
        "sns.amazonaws.com",
        "logs.${AWS::Region}.amazonaws.com",
    }
    assert principals["sns.amazonaws.com"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    logs = principals["logs.${AWS::Region}.amazonaws.com"]["Condition"]["ArnLike"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs


# ------------------------------------------------------------------ alarms and dashboard
ALARMS = {
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "NotificationDeadLetterQueue"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "StreamFailureQueue"),
    ("AWS/Lambda", "IteratorAge", "StreamFunction"),
    ("AWS/Lambda", "Errors", "NotifierFunction"),
    ("LiveTelecastStreams", "NotificationLateness", "telecast"),
}


def _watched(alarm: dict[str, Any]) -> tuple[str, str, str]:
    [dimension] = alarm["Dimensions"]
    value = dimension["Value"]
    if isinstance(value, dict):
        value = value.get("Ref") or value["Fn::GetAtt"][0]
    return alarm["Namespace"], alarm["MetricName"], value


def test_alarms_watch_dead_letters_stream_lag_notifier_errors_and_lateness(
    template: dict[str, Any],
) -> None:
    alarms = resources(template, conditions(template), "AWS::CloudWatch::Alarm")

    assert {_watched(alarm) for alarm in alarms.values()} >= ALARMS


def test_alarms_notify_the_alarm_topic_only_when_one_is_given(template: dict[str, Any]) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:on-call"
    given = resources(template, conditions(template, AlarmTopicArn=topic), "AWS::CloudWatch::Alarm")
    none = resources(template, conditions(template), "AWS::CloudWatch::Alarm")

    for name, alarm in given.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopicArn"}], name
    for name, alarm in none.items():
        assert "AlarmActions" not in alarm, name
        assert "OKActions" not in alarm, name


def _dashboard(template: dict[str, Any]) -> dict[str, Any]:
    [dashboard] = resources(template, conditions(template), "AWS::CloudWatch::Dashboard").values()
    body = re.sub(r"\$\{[^}]+\}", "1", sub_text(dashboard["DashboardBody"]))
    return dict(json.loads(body))


def test_the_dashboard_shows_notifications_lateness_failures_and_dead_letters(
    template: dict[str, Any],
) -> None:
    widgets = {widget["properties"]["title"]: widget for widget in _dashboard(template)["widgets"]}

    lateness = widgets["Notification lateness (ms)"]["properties"]["metrics"]
    assert [metric[-1]["stat"] for metric in lateness] == ["p50", "p99", "Maximum"]
    assert widgets["Notifications per hour"]["properties"]["period"] == 3600
    assert {"Failures", "Dead letters"} <= set(widgets)


def _custom_metrics(template: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, service) of every custom metric the alarms and dashboard read."""
    found = set()
    for alarm in resources(template, conditions(template), "AWS::CloudWatch::Alarm").values():
        namespace, metric, service = _watched(alarm)
        if not namespace.startswith("AWS/"):
            found.add((namespace, metric, service))
    for widget in _dashboard(template)["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if not metric[0].startswith("AWS/"):
                found.add((metric[0], metric[1], metric[3]))
    return found


def test_every_metric_the_alarms_and_dashboard_read_is_emitted_by_the_code(
    template: dict[str, Any],
) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    sources = [
        path.read_text()
        for folder in ("layers/telecast/telecast", "functions")
        for path in (ROOT / folder).rglob("*.py")
    ]
    emitting = [source for source in sources if "add_metric(" in source]

    for namespace, metric, service in _custom_metrics(template):
        assert namespace == variables["POWERTOOLS_METRICS_NAMESPACE"]
        assert service == variables["POWERTOOLS_SERVICE_NAME"]
        assert any(f'"{metric}"' in source for source in emitting), f"nothing emits {metric}"
