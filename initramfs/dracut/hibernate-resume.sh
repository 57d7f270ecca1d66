#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# dracut pre-mount hook (90hibernate): resume this project's hibernation image, or, when
# nothing is restored, complete what an interrupted hibernation left in the COW store.  Sourced
# by dracut's init (never exit here); the same logic as initramfs-tools'
# scripts/local-premount/hibernate:
#   hibernate=off   neither resume nor recover
#   noresume        no resume; recover still runs
# Any other outcome is logged and the boot goes on.  dracut's network module has brought up
# the network for a URL target already (rd.neednet=1 from the module's cmdline.d), so
# hibernatectl is told to leave it alone.

type info >/dev/null 2>&1 || . /lib/dracut-lib.sh
. @HIB_FUNCTIONS@
# hibernatectl where this package installed it (the initramfs PATH may lack its directory).
PATH=$PATH:@HIB_SBINDIR@

hibernate_recover()
{
	[ -n "$(hib_conf_get protect cow)" ] || return 0
	hibernatectl recover
	_hr_rc=$?
	if [ "$_hr_rc" = 0 ]; then
		info "hibernate: recover: the COW store is clean"
	else
		warn "hibernate: hibernatectl recover failed (exit $_hr_rc); booting on (run hibernatectl recover before mounting the protected filesystems)"
	fi
}

hibernate_resume()
{
	if hib_cmdline_off; then
		warn "hibernate: hibernate=off on the kernel command line: no resume, no recover"
		return 0
	fi
	if ! command -v hibernatectl >/dev/null 2>&1 || [ ! -e "$HIBERNATE_CONF" ]; then
		warn "hibernate: hibernatectl or $HIBERNATE_CONF missing from the initramfs; no resume (rebuild it with dracut)"
		return 0
	fi
	if hib_cmdline_has noresume; then
		warn "hibernate: noresume on the kernel command line: not resuming"
		hibernate_recover
		return 0
	fi
	_hib_target=$(hib_conf_get hibernate target)
	if [ -z "$_hib_target" ]; then
		warn "hibernate: no target under [hibernate] in $HIBERNATE_CONF: nothing to resume"
		hibernate_recover
		return 0
	fi
	if hib_is_url "$_hib_target"; then
		echo "ip=off" >/run/hibernate-cmdline
	fi
	info "hibernate: resuming from $_hib_target"
	# Returns only when nothing was restored.
	if hib_is_url "$_hib_target"; then
		HIBERNATE_CMDLINE=/run/hibernate-cmdline hibernatectl resume
	else
		hibernatectl resume
	fi
	_hib_rc=$?
	case $_hib_rc in
	6) info "hibernate: no hibernation image on $_hib_target; booting normally" ;;
	7) warn "hibernate: the image on $_hib_target was refused (see above); booting normally" ;;
	*)
		warn "hibernate: hibernatectl resume failed (exit $_hib_rc); booting normally"
		hibernate_recover
		;;
	esac
	return 0
}

hibernate_resume
unset _hib_target _hib_rc _hr_rc
