# shellcheck shell=bash
# The brownfield lab: turns a lab of `scripts/lab` into a live VICIdial
# cluster that has run for years. Sourced by `scripts/lab brownfield` (which
# first brings the lab up with VICIdial's whole install schema and Asterisk
# inside a GNU screen session); uses its helpers (step, die, db, wait_for) and
# the VICILAB_* names of scripts/env.sh.
#
# What it does, once per lab (a marker in each Asterisk container records it):
#   1. seeds the database as admin.php writes it (lab/sql/brownfield.sql.in):
#      phones of every protocol with CRLF overrides and templates, weak
#      secrets, a carrier, a call menu; both servers with
#      generate_vicidial_conf, rebuild_conf_files and active_asterisk_server
#      'Y' and the real Asterisk version;
#   2. installs VICIdial's generator and sample configs into each Asterisk
#      container as install.pl does for Asterisk 22, at run time, from
#      ../shared/vicidial-generator (AGPL test data: never copied into this
#      repository);
#   3. runs the generator once on each server, restarts Asterisk so that it
#      starts from the generator's own output, and checks what Asterisk loaded
#      against the database.
#
# Env: VICILAB_SHARED (default: ../shared beside the repository).

BF_SHARED=${VICILAB_SHARED:-$ROOT/../shared}
BF_GEN=$BF_SHARED/vicidial-generator
BF_SEED=$ROOT/lab/sql/brownfield.sql.in
BF_MARKER=/etc/asterisk/.vicilab-brownfield
BF_GENERATOR=/usr/share/astguiclient/ADMIN_keepalive_ALL.pl

# install.pl (VICIdial 2.14, "$VARasterisk_version =~ /^18|^20|^22/" branch
# plus the lines every version gets): sample -> /etc/asterisk name. Its
# logger, dnsmgr and features samples are not in ../shared: Debian's stay.
BF_SAMPLES=(
  "extensions.conf.sample-18 extensions.conf"
  "iax.conf.sample-1.4 iax.conf"
  "sip.conf.sample-13 sip.conf"
  "manager.conf.sample-18 manager.conf"
  "voicemail.conf.sample-1.8 voicemail.conf"
  "pjsip.conf.sample-16 pjsip.conf"
  "pjsip_wizard.conf.sample-16 pjsip_wizard.conf"
  "confbridge.conf.sample-18 confbridge.conf"
  "meetme.conf.sample meetme.conf"
  "musiconhold.conf.sample musiconhold.conf"
)

# The Asterisk servers: containers and their IPs, same order.
BF_NAMES=("$VICILAB_AST1_CONTAINER" "$VICILAB_AST2_CONTAINER")
BF_IPS=("$VICILAB_AST1_IP" "$VICILAB_AST2_IP")

bf_put() { # container dest mode < content
  podman exec -i "$1" sh -c 'cat > "$1.vicilab-tmp" && chmod "$2" "$1.vicilab-tmp" && mv "$1.vicilab-tmp" "$1"' \
    sh "$2" "$3"
}

# Adapt VICIdial's pjsip.conf.sample-16 to Asterisk 22 in this container, and
# say so at the top of the file. Only what Asterisk 22 strictly needs:
#  - [transport-udp] binds 5061 in the sample, because chan_sip held 5060.
#    Asterisk 22 has no chan_sip, and VICIdial's docs/PJSIP_SUPPORT.txt moves
#    PJSIP to 5060 once chan_sip is gone; phones (and the lab's SIP clients)
#    register on 5060.
#  - external_media_address / external_signaling_address are the literal
#    placeholder SERVER_EXTERNAL_IP, which the admin (not install.pl) replaces;
#    left as is, res_pjsip cannot resolve it and the UDP transport does not
#    load. The lab server has no NAT: its own address.
bf_adapt_pjsip() { # ip < sample > adapted
  local ip=$1
  printf '%s\n' \
    "; vicilab brownfield: VICIdial's docs/conf_examples/pjsip.conf.sample-16 as install.pl copies it," \
    "; with two changes Asterisk 22 needs (lab/brownfield.sh says why): transport-udp binds 5060" \
    "; instead of 5061 (no chan_sip on Asterisk 22), and SERVER_EXTERNAL_IP is this server's address."
  sed -e '/^\[transport-udp\]/,/^\[/ s/^\(bind[[:space:]]*=[[:space:]]*0\.0\.0\.0:\)5061[[:space:]]*$/\15060/' \
      -e "s/SERVER_EXTERNAL_IP/$ip/g"
}

bf_asterisk_version() { # container -> 22.10.1
  podman exec "$1" asterisk -rx 'core show version' | grep -oE '^Asterisk [0-9]+\.[0-9]+\.[0-9]+' | cut -d' ' -f2
}

bf_converted() { # true when every Asterisk container carries the marker
  local name
  for name in "${BF_NAMES[@]}"; do
    podman container exists "$name" && podman exec "$name" test -f "$BF_MARKER" 2>/dev/null || return 1
  done
}

bf_install() { # container ip: generator, sample configs, placeholders
  local name=$1 ip=$2 pair sample conf
  podman exec "$name" mkdir -p /usr/share/astguiclient /var/log/astguiclient
  bf_put "$name" "$BF_GENERATOR" 0755 <"$BF_GEN/ADMIN_keepalive_ALL.pl"
  for pair in "${BF_SAMPLES[@]}"; do
    read -r sample conf <<<"$pair"
    if [ "$conf" = pjsip.conf ]; then
      bf_adapt_pjsip "$ip" <"$BF_GEN/conf_examples/$sample" | bf_put "$name" "/etc/asterisk/$conf" 0644
    else
      bf_put "$name" "/etc/asterisk/$conf" 0644 <"$BF_GEN/conf_examples/$sample"
    fi
  done
  # install.pl's placeholders, byte for byte.
  podman exec "$name" sh -c '
    echo "[vicidial-auto] ;placeholder for auto-generated extensions conf" > /etc/asterisk/extensions-vicidial.conf
    echo "[vicidial-auto] ;placeholder for auto-generated iax conf" > /etc/asterisk/iax-vicidial.conf
    echo "[vicidial-auto] ;placeholder for auto-generated sip conf" > /etc/asterisk/sip-vicidial.conf
    echo "[vicidial-auto] ;placeholder for auto-generated voicemail conf" > /etc/asterisk/voicemail-vicidial.conf'
}

bf_wait_asterisk() { # container
  wait_for 90 "Asterisk fully booted in $1" podman exec "$1" asterisk -rx 'core waitfullybooted'
}

# What Asterisk has loaded against what the database says VICIdial generated:
# every active PJSIP phone an endpoint, every active IAX2 phone a peer, every
# active SIP/IAX2/PJSIP phone's number in [vicidial-auto-phones].
bf_check() {
  local i name ip rc=0 endpoints peers plan ext num proto missing
  for i in "${!BF_NAMES[@]}"; do
    name=${BF_NAMES[$i]} ip=${BF_IPS[$i]}
    endpoints=$(podman exec "$name" asterisk -rx 'pjsip show endpoints')
    peers=$(podman exec "$name" asterisk -rx 'iax2 show peers')
    plan=$(podman exec "$name" asterisk -rx 'dialplan show vicidial-auto-phones')
    missing=()
    while IFS=$'\t' read -r ext num proto; do
      case "$proto" in
        PJSIP) grep -qE "^ *Endpoint: +$ext(/| |$)" <<<"$endpoints" || missing+=("PJSIP/$ext") ;;
        IAX2) grep -qE "^$ext(/| )" <<<"$peers" || missing+=("IAX2/$ext") ;;
      esac
      grep -qF "'$num' =>" <<<"$plan" || missing+=("number $num")
    done < <(db -N asterisk -e "SELECT extension, dialplan_number, protocol FROM phones
                 WHERE server_ip='$ip' AND active='Y' AND protocol IN ('SIP','IAX2','PJSIP') ORDER BY extension" </dev/null)
    printf '  %-14s %s PJSIP endpoints, %s IAX2 peers, %s dial plan numbers in [vicidial-auto-phones]\n' "$name" \
      "$(grep -cE '^ *Endpoint: +[^ <]' <<<"$endpoints" || true)" \
      "$(grep -cE '^[^ ]+ +[0-9(]' <<<"$peers" || true)" \
      "$(grep -cE "^ *'[^'h][^']*' =>" <<<"$plan" || true)"
    if [ ${#missing[@]} -gt 0 ]; then
      echo "  $name lacks: ${missing[*]}" >&2
      rc=1
    fi
  done
  return $rc
}

brownfield_convert() {
  local i name version pid pids=() rc=0
  [ -f "$BF_GEN/ADMIN_keepalive_ALL.pl" ] && [ -d "$BF_GEN/conf_examples" ] \
    || die "$BF_GEN not found: VICIdial's generator is expected in ../shared beside the repository (VICILAB_SHARED)"
  if bf_converted; then
    step "brownfield: $VICILAB_NAME is already a VICIdial cluster (marker $BF_MARKER); checking it"
    for name in "${BF_NAMES[@]}"; do bf_wait_asterisk "$name"; done
    bf_check
    return
  fi
  version=$(bf_asterisk_version "$VICILAB_AST1_CONTAINER")
  [ -n "$version" ] || die "cannot read the Asterisk version of $VICILAB_AST1_CONTAINER"
  step "brownfield: seeding the database as admin.php writes it (Asterisk $version)"
  sed -e "s/@AST1_IP@/$VICILAB_AST1_IP/g" -e "s/@AST2_IP@/$VICILAB_AST2_IP/g" \
      -e "s/@AST_VERSION@/$version/g" "$BF_SEED" | db asterisk
  step "brownfield: VICIdial's generator and sample configs into each Asterisk container"
  for i in "${!BF_NAMES[@]}"; do bf_install "${BF_NAMES[$i]}" "${BF_IPS[$i]}"; done
  step "brownfield: running ADMIN_keepalive_ALL.pl once on each server (log: $LAB_STATE/brownfield-<container>.log)"
  for name in "${BF_NAMES[@]}"; do
    podman exec "$name" "$BF_GENERATOR" >"$LAB_STATE/brownfield-$name.log" 2>&1 </dev/null &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  [ $rc -eq 0 ] || die "the generator failed (see $LAB_STATE/brownfield-*.log)"
  local flags
  flags=$(db -N asterisk -e "SELECT GROUP_CONCAT(rebuild_conf_files) FROM servers
            WHERE server_ip IN ('$VICILAB_AST1_IP','$VICILAB_AST2_IP')")
  [ "$flags" = N,N ] || die "the generator did not rebuild (servers.rebuild_conf_files: $flags)"
  for name in "${BF_NAMES[@]}"; do
    podman exec "$name" test -s /etc/asterisk/pjsip_wizard-vicidial.conf \
      || die "$name: the generator wrote no pjsip_wizard-vicidial.conf"
  done
  step "brownfield: restarting Asterisk so it starts from the generator's output"
  for name in "${BF_NAMES[@]}"; do podman restart -t 5 "$name" >/dev/null; done
  for name in "${BF_NAMES[@]}"; do bf_wait_asterisk "$name"; done
  step "brownfield: what Asterisk loaded"
  bf_check || die "Asterisk did not load every phone VICIdial generated"
  for name in "${BF_NAMES[@]}"; do
    podman exec "$name" sh -c "date -u +%FT%TZ > $BF_MARKER"
  done
  step "brownfield: $VICILAB_NAME is a live VICIdial cluster: db $VICILAB_DB_IP, ast1 $VICILAB_AST1_IP, ast2 $VICILAB_AST2_IP"
}
