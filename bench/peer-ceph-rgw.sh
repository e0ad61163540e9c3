#!/usr/bin/env bash
# A Ceph RadosGW on this machine, as a performance peer for Weft: the same S3 measurements
# (`npm run bench -- --endpoint URL --access-key ID --secret-key SECRET`, bench/endpoint.ts) can then be run
# against it and against Weft, one after the other, on the same hardware.
#
#   bench/peer-ceph-rgw.sh up [DIR]     install Ceph if missing, build a fresh cluster under DIR, start it
#   bench/peer-ceph-rgw.sh down [DIR]   stop every daemon started from DIR and remove DIR
#
# DIR defaults to /var/tmp/weft-peer-ceph. What `up` builds, all on 127.0.0.1, all as root, all with
# `-c DIR/ceph.conf` (nothing in /etc/ceph, no systemd unit):
#   - one monitor (mon.a, ports 3300/6789) and one manager (mgr.x);
#   - three BlueStore OSDs whose block devices are plain sparse files DIR/osd.N/block, made by
#     `ceph-osd --mkfs` itself (`bluestore block create`), the way Ceph's vstart.sh does it: no LVM, no ceph-volume.
#     BlueStore opens them with O_DIRECT and libaio, so reads and writes reach the disk under DIR, not the page
#     cache. The CRUSH failure domain is the OSD (`osd crush chooseleaf type = 0`);
#   - bucket data in an erasure-coded pool, default.rgw.buckets.data, profile k=2 m=1 crush-failure-domain=osd,
#     made before radosgw starts; radosgw makes the small replicated pools it needs (size 2, min_size 1);
#   - radosgw with the beast frontend on 127.0.0.1:7480, and an S3 user with fixed keys
#     (access key peeradmin, secret peeradmin-secret-key).
# The OSDs get Ceph's SSD tuning even though the virtio disk claims to be rotational (DEVICE_PROFILE, see
# device_profile_conf). Memory is kept modest: osd_memory_target 1 GiB per OSD, a small monitor cache; at most
# about 4.5 GiB in all (about 1.4 GiB resident after a quick bench run).
# `up` returns once a signed ListBuckets is answered, and prints the bench command line to use.
#
# Needs root (apt-get, daemons as root, ports), the Debian packages radosgw ceph-mon ceph-mgr ceph-osd
# (Ceph 16.2 on bookworm), and disk space for what is written: the OSD files are sparse, OSD_SIZE each
# (32 GiB by default; EC 2+1 stores 1.5 × what is written).
set -euo pipefail

DEFAULT_DIR=/var/tmp/weft-peer-ceph
RGW_PORT=7480
ACCESS_KEY=peeradmin
SECRET_KEY=peeradmin-secret-key
OSD_COUNT=3
OSD_SIZE=${OSD_SIZE:-$((32 * 1024 * 1024 * 1024))} # bytes, sparse
EC_PROFILE=weft-peer-k2m1
DATA_POOL=default.rgw.buckets.data
DEVICE_PROFILE=${DEVICE_PROFILE:-ssd} # see device_profile_conf
MARKER="# weft peer ceph cluster"

log() { printf '[peer-ceph] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- installation -------------------------------------------------------------------------------------------

install_packages() {
  local missing=()
  for tool in ceph-mon ceph-mgr ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    log "installing Ceph (missing: ${missing[*]})"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q radosgw ceph-mon ceph-mgr ceph-osd >/dev/null
  fi
  quiet_system_services
}

# The packages enable systemd units (ceph.target and friends); this cluster is ours alone, so none of them may run.
quiet_system_services() {
  local units=(ceph.target ceph-mon.target ceph-mgr.target ceph-osd.target ceph-radosgw.target ceph-mds.target
    ceph-fuse.target ceph-crash.service)
  command -v systemctl >/dev/null || return 0
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now "${units[@]}" >/dev/null 2>&1 || true
  else
    systemctl disable "${units[@]}" >/dev/null 2>&1 || true # no systemd running: only the enablement links
  fi
}

# --- configuration ------------------------------------------------------------------------------------------

write_conf() {
  local dir=$1
  cat >"$dir/ceph.conf" <<EOF
$MARKER (bench/peer-ceph-rgw.sh); removed by \`down\`
[global]
fsid = $(uuidgen)
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
keyring = $dir/keyring
run dir = $dir/run
crash dir = $dir/crash
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
osd pool default size = 2
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool delete = true
mon data avail warn = 5
mon warn on pool no redundancy = false

[mon]
mon data = $dir/\$name
mon cluster log file = $dir/log/cluster.log
mon memory target = 536870912

[mgr]
mgr data = $dir/\$name
keyring = $dir/\$name/keyring

[osd]
osd data = $dir/\$name
keyring = $dir/\$name/keyring
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $OSD_SIZE
bluestore fsck on mount = false
osd memory target = 1073741824
$(device_profile_conf)

[client.rgw.a]
keyring = $dir/\$name/keyring
rgw data = $dir/\$name
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
EOF
}

# The virtio disk here says rotational=1, which would give BlueStore and the OSD their spinning-disk tuning
# (a per-IO throttle cost 170× the SSD one, deferred writes up to 64 KiB, 5 op shards of 1 thread); its random
# 4 KiB reads take about 0.25 ms, so there is flash behind it. DEVICE_PROFILE=ssd (the default) applies Ceph's own
# SSD defaults instead; DEVICE_PROFILE=default leaves Ceph to go by what the kernel reports.
device_profile_conf() {
  case $DEVICE_PROFILE in
    ssd) profile_lines ssd 8 2 ;;
    hdd) profile_lines hdd 5 1 ;;
    default) ;;
    *) die "DEVICE_PROFILE must be ssd, hdd or default" ;;
  esac
}

# profile_lines PROFILE SHARDS THREADS: the OSD's op sharding goes by the disk too, apart from BlueStore's.
profile_lines() {
  printf '%s\n' "bluestore debug enforce settings = $1" "osd op num shards = $2" "osd op num threads per shard = $3"
}

ceph_() { ceph -c "$DIR/ceph.conf" "$@"; }

# --- daemons ------------------------------------------------------------------------------------------------

# launch NAME COMMAND...: starts a daemon (it forks and writes DIR/run/NAME.pid); what it says before forking
# goes to DIR/log/NAME.start.log.
launch() {
  local name=$1
  shift
  "$@" >"$DIR/log/$name.start.log" 2>&1 || { cat "$DIR/log/$name.start.log" >&2; die "$name did not start"; }
}

start_mon() {
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$(ceph-conf -c "$DIR/ceph.conf" --lookup fsid)" \
    --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' "$DIR/monmap" >/dev/null
  mkdir -p "$DIR/mon.a"
  ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  launch mon.a ceph-mon -c "$DIR/ceph.conf" -i a
  wait_for "the monitor" 60 ceph_ --connect-timeout 5 mon stat
}

start_mgr() {
  mkdir -p "$DIR/mgr.x"
  ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$DIR/mgr.x/keyring"
  launch mgr.x ceph-mgr -c "$DIR/ceph.conf" -i x
}

# One OSD: an id from the monitor, `ceph-osd --mkfs` makes the BlueStore block file and the key, then it starts.
start_osd() {
  local uuid id
  uuid=$(uuidgen)
  id=$(ceph_ osd new "$uuid")
  mkdir -p "$DIR/osd.$id"
  local mkfs_log=$DIR/log/osd.$id.mkfs.log
  if ! ceph-osd -c "$DIR/ceph.conf" -i "$id" --mkfs --mkkey --no-mon-config --osd-uuid "$uuid" >"$mkfs_log" 2>&1; then
    tail -20 "$mkfs_log" >&2
    die "ceph-osd --mkfs failed for osd.$id (log: $mkfs_log)"
  fi
  ceph_ auth add "osd.$id" osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
    -i "$DIR/osd.$id/keyring" >/dev/null 2>&1
  launch "osd.$id" ceph-osd -c "$DIR/ceph.conf" -i "$id"
}

create_pools() {
  ceph_ osd erasure-code-profile set "$EC_PROFILE" k=2 m=1 crush-failure-domain=osd
  ceph_ osd pool create "$DATA_POOL" 32 32 erasure "$EC_PROFILE" >/dev/null 2>&1
  ceph_ osd pool application enable "$DATA_POOL" rgw >/dev/null 2>&1
}

start_rgw() {
  mkdir -p "$DIR/client.rgw.a"
  ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' mgr 'allow rw' -o "$DIR/client.rgw.a/keyring"
  launch client.rgw.a radosgw -c "$DIR/ceph.conf" -n client.rgw.a
}

create_user() {
  radosgw-admin -c "$DIR/ceph.conf" user create --uid "$ACCESS_KEY" --display-name "Weft bench peer" \
    --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" >/dev/null
}

# --- waiting ------------------------------------------------------------------------------------------------

# wait_for WHAT SECONDS COMMAND...: runs COMMAND once a second until it succeeds.
wait_for() {
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 1
  done
  die "$what not ready after ${seconds}s (logs: $DIR/log)"
}

osds_up() {
  local up
  up=$(ceph_ osd stat -f json | python3 -c 'import json, sys; print(json.load(sys.stdin)["num_up_osds"])')
  [[ $up == "$OSD_COUNT" ]]
}

pgs_active_clean() {
  ceph_ pg stat -f json | python3 -c '
import json, sys
s = json.load(sys.stdin)["pg_summary"]
clean = sum(x["num"] for x in s["num_pg_by_state"] if x["name"] == "active+clean")
sys.exit(0 if s["num_pgs"] > 0 and clean == s["num_pgs"] else 1)'
}

signed_list_buckets() {
  env -u AWS_CA_BUNDLE -u AWS_PROFILE AWS_ACCESS_KEY_ID="$ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$SECRET_KEY" \
    AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url "http://127.0.0.1:$RGW_PORT" s3 ls
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rgw_answers() {
  if command -v aws >/dev/null; then signed_list_buckets; else listening "$RGW_PORT"; fi
}

# --- subcommands --------------------------------------------------------------------------------------------

check_ports_free() {
  local port
  for port in 3300 6789 "$RGW_PORT"; do
    if listening "$port"; then die "127.0.0.1:$port is in use (another Ceph running?)"; fi
  done
}

up() {
  [[ $EUID -eq 0 ]] || die "run as root"
  local started=$SECONDS n
  trap '(($? == 0)) || log "up failed; logs in $DIR/log; \`$0 down\` stops what was started"' EXIT
  device_profile_conf >/dev/null
  install_packages
  [[ ! -e $DIR ]] || down
  check_ports_free
  mkdir -p "$DIR"/{run,log,crash}
  write_conf "$DIR"
  log "Ceph $(ceph --version | awk '{print $3}'), cluster under $DIR"
  start_mon
  start_mgr
  for ((n = 0; n < OSD_COUNT; n++)); do start_osd; done
  wait_for "$OSD_COUNT OSDs" 120 osds_up
  create_pools
  start_rgw
  wait_for "radosgw" 120 listening "$RGW_PORT"
  create_user
  wait_for "the placement groups" 180 pgs_active_clean
  wait_for "a signed ListBuckets" 60 rgw_answers
  log "up in $((SECONDS - started))s; $DATA_POOL $(ceph_ osd pool get "$DATA_POOL" erasure_code_profile)"
  echo "npm run bench -- --endpoint http://127.0.0.1:$RGW_PORT --access-key $ACCESS_KEY --secret-key $SECRET_KEY"
}

# Stops every daemon that has a pid file under DIR (SIGTERM, SIGKILL after 30 s), then removes DIR.
down() {
  [[ -e $DIR ]] || { log "nothing at $DIR"; return 0; }
  if ! head -1 "$DIR/ceph.conf" 2>/dev/null | grep -qF "$MARKER"; then
    die "$DIR does not look like a cluster made by this script; not removing it"
  fi
  local file pid pids=() i
  for file in "$DIR"/run/*.pid; do
    [[ -f $file ]] || continue
    pid=$(<"$file")
    if kill -TERM "$pid" 2>/dev/null; then pids+=("$pid"); fi
  done
  for ((i = 0; i < 30; i++)); do
    alive "${pids[@]}" || break
    sleep 1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then log "killing $pid"; kill -KILL "$pid"; fi
  done
  rm -rf "$DIR"
  log "stopped and removed $DIR"
}

# alive PID...: whether any of them is still running.
alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}

cmd=${1:-}
DIR=$(realpath -m "${2:-$DEFAULT_DIR}")
case $cmd in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down [DIR]   (DIR defaults to $DEFAULT_DIR)" >&2; exit 2 ;;
esac
