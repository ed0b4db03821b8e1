#!/bin/sh
# Installs the real package files (luci-app-pdmv2, pdmv2d's plugin, init
# script and config) and the stand-ins (this folder) under ROOT the way a
# router has them, and writes ROOT/standin.env for the server:
#
#   install.sh ROOT QJS_COMMAND STANDIN_BUNDLE
#
# ROOT / is the lab guest (real paths: /www, /usr/libexec/rpcd,
# /usr/share/rpcd/acl.d, /etc/config, /etc/init.d, /etc/rc.common); any other
# ROOT is a private tree for trying the pages on the host. QJS_COMMAND runs
# QuickJS (e.g. "/tmp/qjs/ld.so --library-path /tmp/qjs /tmp/qjs/qjs").
# pdmv2d itself (/usr/bin/pdmv2d) is installed by the caller.
set -eu
ROOT=${1:?ROOT}
QJS=${2:?QJS_COMMAND}
BUNDLE=${3:?STANDIN_BUNDLE}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
R=${ROOT%/}

mkdir -p "$R/www/cgi-bin" "$R/www/luci-standin" "$R/www/luci-static/resources/view/pdmv2" \
	"$R/usr/libexec/rpcd" "$R/usr/share/rpcd/acl.d" "$R/usr/share/luci/menu.d" "$R/usr/share/luci-standin" \
	"$R/etc/config" "$R/etc/init.d"

# the package as opkg would install it
cp "$REPO"/luci-app/htdocs/luci-static/resources/view/pdmv2/*.js "$R/www/luci-static/resources/view/pdmv2/"
cp "$REPO/luci-app/root/usr/share/luci/menu.d/luci-app-pdmv2.json" "$R/usr/share/luci/menu.d/"
cp "$REPO/luci-app/root/usr/share/rpcd/acl.d/luci-app-pdmv2.json" "$R/usr/share/rpcd/acl.d/"
cp "$REPO/firmware/files/usr/libexec/rpcd/pdmv2" "$R/usr/libexec/rpcd/pdmv2"
cp "$REPO/firmware/files/etc/init.d/pdmv2" "$R/etc/init.d/pdmv2"
chmod 755 "$R/usr/libexec/rpcd/pdmv2" "$R/etc/init.d/pdmv2"
[ -f "$R/etc/config/pdmv2" ] || cp "$REPO/firmware/files/etc/config/pdmv2" "$R/etc/config/pdmv2"

# the stand-ins
cp "$HERE"/www/index.html "$R/www/index.html"
cp "$HERE"/www/luci-standin.js "$HERE"/www/standin.css "$R/www/luci-standin/"
cp "$R/usr/share/luci/menu.d/luci-app-pdmv2.json" "$R/www/luci-standin/menu.json"
cp "$HERE/acl.d/standin-base.json" "$R/usr/share/rpcd/acl.d/"
cp "$BUNDLE" "$R/usr/share/luci-standin/ubus.mjs"
if [ "$R" = "" ]; then
	cp "$HERE/rc.common" /etc/rc.common
	RC=''
else
	cp "$HERE/rc.common" "$R/etc/rc.common"
	RC="$R/etc/rc.common"
fi
cat >"$R/www/cgi-bin/ubus" <<EOF
#!/bin/sh
exec $QJS --std -m $R/usr/share/luci-standin/ubus.mjs
EOF
chmod 755 "$R/www/cgi-bin/ubus"

cat >"$R/standin.env" <<EOF
STANDIN_ACL_DIR=$R/usr/share/rpcd/acl.d
STANDIN_PLUGIN_DIR=$R/usr/libexec/rpcd
STANDIN_CONF_DIR=$R/etc/config
STANDIN_INIT_DIR=$R/etc/init.d
STANDIN_USERS=$R/etc/config/rpcd
STANDIN_STATE=$R/tmp/luci-standin
STANDIN_RC_COMMON=$RC
UCI_CONFIG_DIR=$R/etc/config
PROCD_STANDIN_DIR=$R/var/run/procd-standin
PDMV2_CONFIG=$R/etc/config/pdmv2
export STANDIN_ACL_DIR STANDIN_PLUGIN_DIR STANDIN_CONF_DIR STANDIN_INIT_DIR STANDIN_USERS STANDIN_STATE STANDIN_RC_COMMON UCI_CONFIG_DIR PROCD_STANDIN_DIR PDMV2_CONFIG
EOF
