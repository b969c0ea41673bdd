-- wrk script: a mixed load, 9 reads for every write. Reads are nearby
-- searches around the city centre (as the map's "what is near me" does);
-- writes are new reports from bench/report.lua. Used by bench/writes.sh
-- (run from the repository's root).
dofile("bench/report.lua")

request = function()
  counter = counter + 1
  if counter % 10 == 0 then
    return new_report(counter)
  end
  local lon, lat = position(counter)
  return wrk.format("GET", string.format("/api/v1/issues/nearby?lon=%.6f&lat=%.6f&radius=500&limit=10", lon, lat))
end
