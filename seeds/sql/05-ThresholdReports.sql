-- Nightly threshold reports (schema step 2). One report per UK calendar date, replaced as a whole by a re-run;
-- threshold_kpi_value repeats each KPI per scope ('' for the authority, else the team id) for history queries.
create table threshold_report
(
    report_date date primary key,
    run_at timestamptz not null,
    report jsonb not null
);

create table threshold_kpi_value
(
    report_date date not null references threshold_report (report_date) on delete cascade,
    scope text not null,
    kpi text not null,
    value numeric null,
    target numeric null,
    rag text not null,
    primary key (scope, kpi, report_date)
);

create index threshold_kpi_value_report_date on threshold_kpi_value (report_date);
