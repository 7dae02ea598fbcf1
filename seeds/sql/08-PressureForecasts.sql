-- Nightly pressure forecasts (schema step 5), kept to score them later. One row per night and scope
-- ('' for the authority, else the team id); a re-run for the same night replaces them.
create table pressure_forecast
(
    forecast_date date not null,
    scope text not null,
    run_at timestamptz not null,
    forecast jsonb not null,
    primary key (forecast_date, scope)
);
