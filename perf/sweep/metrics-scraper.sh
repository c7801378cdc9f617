#!/usr/bin/env bash
# Scrapes /metrics of the gateway that perf/sweep/run-sweep.sh is running, every INTERVAL seconds, until killed; logs
# one line a scrape: epoch seconds, HTTP status, wall seconds. For measuring what scrapes cost a gateway under load
# (docs/PERF.md, "What a Prometheus scrape costs the event loops"): start it beside run-sweep.sh, kill it after.
#   perf/sweep/metrics-scraper.sh <log> [interval seconds, 0.2]
set -uo pipefail
log=${1:?usage: metrics-scraper.sh <log> [interval]}
interval=${2:-0.2}
while true; do
  pid=$(pgrep -f 'weir-sweep.*/weir-gateway.jar' | head -1)
  if [[ -n $pid ]]; then
    # run-sweep.sh hands each gateway its port in the environment.
    port=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | sed -n 's/^WEIR_HTTP_PORT=//p')
    [[ -n $port ]] && curl -s -o /dev/null --max-time 10 -w "$(date +%s.%N) %{http_code} %{time_total}\n" \
      "http://127.0.0.1:$port/metrics" >>"$log"
  fi
  sleep "$interval"
done
