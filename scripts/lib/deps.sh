# scripts/lib/deps.sh - install the Debian packages citytel needs, only those missing.
# Source it and call ct_install_deps [extra packages...]. Needs root (or sudo) for apt-get.

CT_DEBIAN_PACKAGES="build-essential cmake pkg-config clang libpaho-mqtt-dev libuv1-dev
libcurl4-openssl-dev libcjson-dev libmbedtls-dev libssl-dev zlib1g-dev libhttp-parser-dev libcmocka-dev
mosquitto mosquitto-clients influxdb curl python3 openssl ca-certificates clang-format git gdal-bin
vsftpd openssh-server openssh-client
prometheus fakeroot dpkg-dev libsodium-dev victoria-metrics"

ct_missing_packages()
{
    local p missing=""
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $p"
        fi
    done
    echo "$missing"
}

ct_install_deps()
{
    local missing sudo=""
    # shellcheck disable=SC2086
    missing=$(ct_missing_packages $CT_DEBIAN_PACKAGES "$@")
    if [ -z "${missing// /}" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        sudo="sudo"
    fi
    echo "citytel: installing missing Debian packages:$missing"
    $sudo apt-get update -qq || return 1
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing \
        >/tmp/citytel-apt.log 2>&1 || { tail -20 /tmp/citytel-apt.log >&2; return 1; }
    # The packages' own services are not used: the scripts run the servers in the foreground.
    $sudo systemctl disable --now mosquitto influxdb >/dev/null 2>&1 || true
}

# ct_install_commands CMD:PACKAGE...: installs PACKAGE only when CMD is not on the PATH (Node.js
# and npm may come from another source than Debian on a given machine; their Debian packages
# would then conflict).
ct_install_commands()
{
    local pair cmd pkg need=""
    for pair in "$@"; do
        cmd=${pair%%:*}
        pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || need="$need $pkg"
    done
    if [ -n "${need// /}" ]; then
        # shellcheck disable=SC2086
        CT_DEBIAN_PACKAGES="" ct_install_deps $need
    fi
}
