-- A key with the station scope speaks for one print station: it lists that station's print jobs, fetches their
-- label files and acknowledges them, and nothing else. Other keys name no station.
ALTER TABLE api_keys ADD COLUMN station_id text REFERENCES print_stations (id);
ALTER TABLE api_keys ADD CONSTRAINT api_keys_station_scope
    CHECK ((station_id IS NULL) = NOT ('station' = ANY (scopes)));
