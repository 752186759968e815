"""Reports: KPI definitions, hourly rollups kept from the event log, the reports API and console."""
