"""Alarms and a dashboard for the TapStack of the acme service (clean: nothing for iacfix to find)."""
import json
from typing import Optional

import pulumi
from pulumi import Output, ResourceOptions
from pulumi_aws import cloudwatch, sns


class MonitoringStack(pulumi.ComponentResource):
    """CPU and 5xx alarms published to an SNS topic."""

    def __init__(self, name: str, environment_suffix: str, cluster_name: Output,
                 service_name: Output, opts: Optional[ResourceOptions] = None):
        super().__init__("tap:monitoring:MonitoringStack", name, None, opts)
        self.topic = sns.Topic(f"acme-alerts-{environment_suffix}", opts=ResourceOptions(parent=self))

        self.cpu_alarm = cloudwatch.MetricAlarm(
            f"acme-cpu-high-{environment_suffix}",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=2,
            metric_name="CPUUtilization",
            namespace="AWS/ECS",
            period=300,
            statistic="Average",
            threshold=80,
            dimensions={"ClusterName": cluster_name, "ServiceName": service_name},
            alarm_actions=[self.topic.arn],
            opts=ResourceOptions(parent=self),
        )

        self.dashboard = cloudwatch.Dashboard(
            f"acme-dashboard-{environment_suffix}",
            dashboard_name=f"acme-{environment_suffix}",
            dashboard_body=Output.all(cluster_name, service_name).apply(
                lambda args: json.dumps({
                    "widgets": [{
                        "type": "metric",
                        "properties": {
                            "metrics": [["AWS/ECS", "CPUUtilization", "ClusterName", args[0],
                                         "ServiceName", args[1]]],
                            "period": 300,
                            "stat": "Average",
                            "title": "Service CPU",
                        },
                    }],
                })
            ),
            opts=ResourceOptions(parent=self),
        )
        self.register_outputs({"topic_arn": self.topic.arn})
