-- The children and workers behind each team's KPI figures on a night (schema step 4), for the team reports'
-- drill-down lists. Deleted with the night's report, so a re-run replaces them with it.
create table threshold_kpi_behind
(
    report_date date not null references threshold_report (report_date) on delete cascade,
    team_id text not null,
    kpi text not null,
    items jsonb not null,
    primary key (report_date, team_id, kpi)
);
