#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# /usr/lib/dracut/modules.d/90hibernate: resume this project's hibernation image from a
# dracut initramfs (hibernatectl(8) resume, recover).  The same as the initramfs-tools hook
# (/usr/share/initramfs-tools/hooks/hibernate): hibernatectl and its libraries,
# /etc/machine-id, hibernate.conf and the files it names, and for a URL target libcurl, the CA
# store and dracut's network (ip= on the kernel command line or ip = under [network]).  The
# hook (hibernate-resume.sh) runs in pre-mount: after the initqueue has activated LVM, dm-crypt
# and MD, before the root filesystem is mounted.

# called by dracut
check() {
	require_binaries hibernatectl || return 1
	return 0
}

# called by dracut
depends() {
	local target
	. "$dracutsysrootdir"@HIB_FUNCTIONS@
	target=$(hib_conf_get hibernate target "$dracutsysrootdir$HIBERNATE_CONF")
	# hibernatectl talks to device-mapper through libdevmapper itself; the modules that
	# activate the protected volumes (lvm, crypt, dm) come in for the root filesystem.
	if hib_is_url "$target"; then
		echo network
	fi
	return 0
}

# called by dracut
install() {
	local target f libc conf_ip
	. "$dracutsysrootdir"@HIB_FUNCTIONS@
	inst_binary @HIB_SBINDIR@/hibernatectl
	inst_simple @HIB_FUNCTIONS@
	if [[ -s $dracutsysrootdir/etc/machine-id ]]; then
		# The system's own id, whatever is there: resume refuses an image of another host.
		# In an image that is not hostonly, the systemd module puts an empty
		# /etc/machine-id first (systemd then makes up a random one at every boot), and
		# inst_simple leaves a file that exists alone.
		inst_simple /etc/machine-id
		cp --remove-destination "$dracutsysrootdir/etc/machine-id" "$initdir/etc/machine-id"
		chmod 0444 "$initdir/etc/machine-id"
	else
		dwarn "hibernate: no /etc/machine-id: resume cannot check the image's host"
	fi
	inst_hook pre-mount 50 "$moddir/hibernate-resume.sh"
	if [[ ! -e $dracutsysrootdir$HIBERNATE_CONF ]]; then
		dwarn "hibernate: no $HIBERNATE_CONF: the initramfs will not resume"
		return 0
	fi
	inst_simple "$HIBERNATE_CONF"
	while IFS= read -r f; do
		if [[ -f $dracutsysrootdir$f ]]; then
			inst_simple "$f"
		else
			dwarn "hibernate: $f (named in $HIBERNATE_CONF) does not exist"
		fi
	done < <(hib_secret_files "$dracutsysrootdir$HIBERNATE_CONF")

	target=$(hib_conf_get hibernate target "$dracutsysrootdir$HIBERNATE_CONF")
	if hib_is_url "$target"; then
		# libcurl is dlopen()ed (libhibernate/curl-dl.h): beside the libc hibernatectl links.
		libc=$(ldd "$dracutsysrootdir"@HIB_SBINDIR@/hibernatectl | awk '$1 == "libc.so.6" { print $3; exit }')
		if [[ -n $libc && -e ${libc%/*}/libcurl.so.4 ]]; then
			inst_library "${libc%/*}/libcurl.so.4"
		else
			dwarn "hibernate: $target is a URL but libcurl.so.4 is not installed: the initramfs cannot resume from it"
		fi
		[[ -n $(hib_conf_get http ca-file "$dracutsysrootdir$HIBERNATE_CONF") ]] ||
			inst_simple /etc/ssl/certs/ca-certificates.crt
		# dracut's network module brings the network up before pre-mount: ip = from the
		# configuration (ip= on the kernel command line, read later, wins) and wait for it.
		conf_ip=$(hib_conf_get network ip "$dracutsysrootdir$HIBERNATE_CONF")
		mkdir -p "$initdir"/etc/cmdline.d
		printf '%s rd.neednet=1\n' "${conf_ip:+ip=$conf_ip}" >"$initdir"/etc/cmdline.d/90hibernate.conf
	fi
	return 0
}
