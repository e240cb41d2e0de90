"""The reporting-month partitions every monthly extract is loaded under."""

import dagster as dg

REPORTING_MONTH = dg.DynamicPartitionsDefinition(name="reporting_month")
