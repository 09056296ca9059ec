#!/bin/sh
# make-certs.sh DIR [device ids...] - a test city CA and the certificates of a citytel broker,
# its collectors and its devices (EC P-256 keys), laid out as described in docs/security.md:
#
#   DIR/ca.crt  DIR/ca.key                   the city CA (ca.key stays with the operator)
#   DIR/server.crt  DIR/server.key           the broker (SAN: localhost, 127.0.0.1, $SERVER_SAN)
#   DIR/collector.crt  DIR/collector.key     a collector client certificate (CN $COLLECTOR_CN)
#   DIR/devices/<id>.crt  DIR/devices/<id>.key   one per device id, CN = the device id
#
# An existing CA (DIR/ca.crt and DIR/ca.key) is reused, so running the script again with new
# device ids adds devices to the same city. Existing server, collector and device certificates
# are kept unless FORCE=1. Keys are written with mode 0600.
#
# Environment: SERVER_SAN (extra subjectAltName entries, e.g. "DNS:mqtt.city.example,IP:10.0.0.5"),
# COLLECTOR_CN (default citytel_collector), CA_DAYS (3650), SERVER_DAYS (825), CLIENT_DAYS (825),
# DEVICE_DAYS (1825).
set -eu

usage() {
    echo "usage: $0 DIR [device-id ...]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
DIR=$1
shift
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl not found" >&2; exit 1; }

CA_DAYS=${CA_DAYS:-3650}
SERVER_DAYS=${SERVER_DAYS:-825}
CLIENT_DAYS=${CLIENT_DAYS:-825}
DEVICE_DAYS=${DEVICE_DAYS:-1825}
COLLECTOR_CN=${COLLECTOR_CN:-citytel_collector}
SAN="DNS:localhost,IP:127.0.0.1"
if [ -n "${SERVER_SAN:-}" ]; then
    SAN="$SAN,$SERVER_SAN"
fi

for id in "$@"; do
    if ! printf '%s' "$id" | grep -Eq '^[a-z0-9-]{1,64}$'; then
        echo "$0: invalid device id '$id' (expected [a-z0-9-]{1,64})" >&2
        exit 2
    fi
    # Collectors' MQTT client ids are citytel-collector-<instance>; the device listener forces a
    # device's client id to its CN, so a device certificate with such a CN could take over a
    # collector's session. The city CA never issues one.
    case "$id" in citytel-collector*)
        echo "$0: device id '$id' is reserved: citytel-collector* are collectors' client ids" >&2
        exit 2 ;;
    esac
done

umask 077
mkdir -p "$DIR/devices"
chmod 755 "$DIR" "$DIR/devices"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

newkey() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    chmod 600 "$1"
}

# sign NAME CN DAYS EXTENSIONS: DIR-relative NAME.key and NAME.crt signed by the CA.
sign() {
    name=$1 cn=$2 days=$3 ext=$4
    if [ -s "$DIR/$name.crt" ] && [ -s "$DIR/$name.key" ] && [ "${FORCE:-0}" != 1 ]; then
        return 0
    fi
    newkey "$DIR/$name.key"
    openssl req -new -key "$DIR/$name.key" -subj "/O=citytel/CN=$cn" -out "$TMP/req.csr"
    printf '%s\n' "$ext" > "$TMP/ext.cnf"
    openssl x509 -req -in "$TMP/req.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
        -CAcreateserial -CAserial "$DIR/ca.srl" -days "$days" -sha256 \
        -extfile "$TMP/ext.cnf" -out "$DIR/$name.crt" 2>/dev/null
    chmod 644 "$DIR/$name.crt"
}

if [ ! -s "$DIR/ca.crt" ] || [ ! -s "$DIR/ca.key" ]; then
    newkey "$DIR/ca.key"
    openssl req -x509 -new -key "$DIR/ca.key" -sha256 -days "$CA_DAYS" \
        -subj "/O=citytel/CN=citytel test city CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" -out "$DIR/ca.crt"
    chmod 644 "$DIR/ca.crt"
fi

CLIENT_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

sign server localhost "$SERVER_DAYS" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$SAN
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
sign collector "$COLLECTOR_CN" "$CLIENT_DAYS" "$CLIENT_EXT"
for id in "$@"; do
    sign "devices/$id" "$id" "$DEVICE_DAYS" "$CLIENT_EXT"
done

for f in "$DIR/server.crt" "$DIR/collector.crt"; do
    openssl verify -CAfile "$DIR/ca.crt" "$f" >/dev/null
done
for id in "$@"; do
    openssl verify -CAfile "$DIR/ca.crt" "$DIR/devices/$id.crt" >/dev/null
done
echo "make-certs: CA, server, collector and $# device certificate(s) in $DIR"
