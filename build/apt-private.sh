# shellcheck shell=bash
# A private apt configuration (sourced by build/fetch-quickjs.sh and
# qemu/arch.sh): its own sources, lists, cache and dpkg status under one
# directory, one Debian architecture, nothing unsigned accepted, none of the
# host's hooks run. The host's apt and dpkg are not touched.
#
#   apt_private_setup DIR ARCH     then write DIR/etc/sources.list, and run
#   apt-get -c DIR/apt.conf ...
apt_private_setup() {
	local A=$1 arch=$2
	mkdir -p "$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/etc/trusted.gpg.d" \
		"$A/state/lists/partial" "$A/cache/archives/partial"
	[ -e "$A/status" ] || : >"$A/status"
	cat >"$A/apt.conf" <<CONF
// A private apt for $arch (build/apt-private.sh).
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
Dir::Etc::sourcelist "$A/etc/sources.list";
Dir::Etc::sourceparts "$A/etc/sources.list.d";
Dir::Etc::preferences "$A/etc/preferences";
Dir::Etc::preferencesparts "$A/etc/preferences.d";
Dir::Etc::trusted "$A/etc/trusted.gpg";
Dir::Etc::trustedparts "$A/etc/trusted.gpg.d";
Dir::State "$A/state";
Dir::State::status "$A/status";
Dir::Cache "$A/cache";
Acquire::Languages "none";
// Never accept unsigned or unverifiable data.
Acquire::AllowInsecureRepositories "false";
Acquire::AllowWeakRepositories "false";
Acquire::AllowDowngradeToInsecureRepositories "false";
APT::Get::AllowUnauthenticated "false";
// Do not run the host's update/dpkg hooks for this private index.
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
#clear DPkg::Pre-Invoke;
#clear DPkg::Post-Invoke;
CONF
	# The cache usually lives under /root (mode 700), which apt's _apt download
	# user cannot enter; apt would fall back to root anyway, with a warning.
	[ "$(id -u)" != 0 ] || echo 'APT::Sandbox::User "root";' >>"$A/apt.conf"
}
