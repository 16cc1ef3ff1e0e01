#!/usr/bin/env bash
# Builds the Gatehouse VM appliance: a bootable Debian 12 disk (UEFI with Secure Boot through
# Debian's signed shim and GRUB, and BIOS through GRUB) made from a debootstrap tree without loop
# devices or mounts: the root file system with `mkfs.ext4 -d`, the EFI system partition with
# mkfs.vfat and mtools, a GPT written by sgdisk into an image file, the parts put in place with
# dd. Output in dist/appliance/: gatehouse-VERSION.qcow2 (Proxmox/KVM) and gatehouse-VERSION.ova
# (VMware, VirtualBox: OVF descriptor, streamOptimized VMDK, manifest).
#
#   sudo scripts/build-vm.sh [--if-changed]
#
# Needs: debootstrap, qemu-utils, gdisk, dosfstools, mtools, e2fsprogs, grub-pc-bin (for the BIOS
# boot sector), and `npm ci` done in the checkout. Environment as for build-container.sh, and
# GATEHOUSE_VM_DISK_GIB (virtual disk size, default 8).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../appliance/lib/common.sh"

gh_need_root
gh_need qemu-img qemu-utils
gh_need sgdisk gdisk
gh_need mkfs.vfat dosfstools
gh_need mcopy mtools
gh_need mkfs.ext4 e2fsprogs
gh_need debugfs e2fsprogs
start=$SECONDS
NAME="gatehouse-$GH_VERSION"
DISK_GIB="${GATEHOUSE_VM_DISK_GIB:-8}"
SOURCES=(app bin migrations package.json package-lock.json tsconfig.json tsconfig.build.json scripts/bundle.mjs appliance/versions.env appliance/lib appliance/vm scripts/build-vm.sh)
fingerprint="$(gh_fingerprint "${SOURCES[@]}")"
stamp="$GH_OUT/$NAME.source"
if [ "${1:-}" = "--if-changed" ] && [ -f "$GH_OUT/$NAME.qcow2" ] && [ -f "$GH_OUT/$NAME.ova" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$fingerprint" ]; then
  gh_log "$GH_OUT/$NAME.qcow2 and .ova are up to date (sources $fingerprint)"
  exit 0
fi

# Debian packages of the VM, besides minbase.
PACKAGES="systemd systemd-sysv udev dbus systemd-resolved systemd-timesyncd linux-image-amd64 initramfs-tools
  shim-signed grub-efi-amd64-signed grub-efi-amd64-bin grub-pc-bin openssh-server openssl iproute2 sudo nano less
  ca-certificates"
PACKAGES="$(tr -s ' \n' ' ' <<<"$PACKAGES" | sed 's/ $//')"

work="$(mktemp -d "${TMPDIR:-/var/tmp}/gatehouse-vm.XXXXXX")"
trap 'gh_cleanup "$work"' EXIT
gh_prepare vm "$PACKAGES" "$work"
root="$work/rootfs"
cp -a "$GH_BASE" "$root"
rm -f "$root/.complete"

# --- the system -------------------------------------------------------------------------------
gh_install_gatehouse "$root" "$work/app"
printf '%s\n' "$GH_VERSION" >"$root/usr/local/lib/gatehouse/VERSION"
# The overlay's usr/local/bin/gatehouse (a wrapper) replaces the symlink: never write through it.
rm -f "$root/usr/local/bin/gatehouse"
cp -a "$GH_ROOT/appliance/vm/rootfs/." "$root/"
chown -R 0:0 "$root/etc/gatehouse" "$root/etc/systemd/system" "$root/etc/systemd/network" "$root/usr/local/lib/gatehouse-appliance" "$root/usr/local/sbin" "$root/usr/local/bin/gatehouse"
chmod 0700 "$root/etc/gatehouse"
chmod 0600 "$root/etc/gatehouse/gatehouse.env"

# update-grub (run by kernel updates on the installed VM) writes an equivalent configuration.
cat >"$root/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=2
GRUB_DISTRIBUTOR="Gatehouse"
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
echo gatehouse >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
127.0.1.1	gatehouse
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# Empty machine-id: systemd makes a new one at the first boot of each imported copy.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root"/etc/ssh/ssh_host_*
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# Console user `admin` (sudo); its password is set at first boot and shown on the console.
if ! grep -q '^admin:' "$root/etc/passwd"; then
  chroot "$root" useradd --create-home --shell /bin/bash --groups sudo --comment "Appliance administrator" admin
fi
mkdir -p "$root/etc/profile.d"
echo 'export GATEHOUSE_DATA_DIR=/var/lib/gatehouse' >"$root/etc/profile.d/gatehouse.sh"
# Units: networkd, resolved, timesyncd (TOTP needs the right time), ssh, the appliance's own.
for unit in systemd-networkd.service systemd-resolved.service systemd-timesyncd.service ssh.service \
  gatehouse-firstboot.service gatehouse-banner.service gatehouse-banner-refresh.path gatehouse.service; do
  chroot "$root" systemctl enable "$unit" >/dev/null 2>&1 || gh_die "systemctl enable $unit failed"
done
chroot "$root" systemctl enable systemd-networkd-wait-online.service >/dev/null 2>&1 || true
# Serial console (the kernel command line names ttyS0; getty follows it) and the VGA one.
rm -f "$root/etc/motd"
printf 'Gatehouse MFA appliance %s. `gatehouse --help`; settings: /etc/gatehouse/gatehouse.env\n' "$GH_VERSION" >"$root/etc/motd"

# --- kernel: drop drivers no hypervisor needs, then a generic initramfs ---------------------------
kver="$(basename "$(ls -d "$root"/lib/modules/*/ | head -n1)")"
mods="$root/lib/modules/$kver/kernel"
rm -rf "$mods"/sound "$mods"/drivers/media "$mods"/drivers/net/wireless "$mods"/net/wireless "$mods"/net/mac80211 \
  "$mods"/drivers/infiniband "$mods"/drivers/staging "$mods"/drivers/bluetooth "$mods"/net/bluetooth "$mods"/drivers/isdn \
  "$mods"/drivers/iio "$mods"/drivers/gpu/drm/amd "$mods"/drivers/gpu/drm/radeon "$mods"/drivers/gpu/drm/nouveau \
  "$mods"/drivers/gpu/drm/i915 "$mods"/drivers/net/can "$mods"/net/can "$mods"/drivers/mtd "$mods"/drivers/usb/gadget \
  "$mods"/drivers/usb/serial "$mods"/drivers/input/joystick "$mods"/drivers/input/touchscreen "$mods"/drivers/input/tablet \
  "$mods"/drivers/nfc "$mods"/net/nfc "$mods"/drivers/thunderbolt "$mods"/drivers/scsi/qla2xxx "$mods"/drivers/scsi/lpfc \
  "$mods"/drivers/scsi/bfa "$mods"/drivers/scsi/qedf "$mods"/drivers/scsi/qedi "$mods"/drivers/net/ethernet/mellanox \
  "$mods"/drivers/net/ethernet/chelsio "$mods"/drivers/net/ethernet/qlogic "$mods"/drivers/net/ethernet/broadcom/bnx2x \
  "$mods"/drivers/net/ethernet/sfc "$mods"/drivers/hid/amd-sfh-hid "$mods"/drivers/platform/chrome "$mods"/drivers/md/bcache \
  "$mods"/fs/ocfs2 "$mods"/fs/gfs2 "$mods"/fs/ceph "$mods"/net/ceph "$mods"/fs/smb "$mods"/fs/nfsd "$mods"/fs/xfs "$mods"/fs/btrfs \
  "$mods"/drivers/video/fbdev/nvidia "$mods"/drivers/net/ethernet/intel/ice "$mods"/drivers/net/ethernet/intel/i40e \
  "$mods"/drivers/net/ethernet/huawei "$mods"/drivers/net/ethernet/marvell "$mods"/drivers/atm "$mods"/net/atm \
  "$mods"/drivers/net/wwan "$mods"/drivers/net/usb "$mods"/drivers/usb/misc "$mods"/drivers/w1 "$mods"/drivers/leds
chroot "$root" depmod -a "$kver"
echo 'MODULES=most' >"$root/etc/initramfs-tools/conf.d/gatehouse"
echo 'COMPRESS=zstd' >>"$root/etc/initramfs-tools/conf.d/gatehouse"
chroot "$root" update-initramfs -u -k "$kver" >/dev/null 2>&1 || chroot "$root" update-initramfs -c -k "$kver" >/dev/null
gh_slim "$root"

# --- file systems and boot loader ------------------------------------------------------------------
ROOT_UUID="$(cat /proc/sys/kernel/random/uuid)"
ESP_ID="$(od -An -N4 -tx4 /dev/urandom | tr -d ' ' | tr a-f A-F)"
ESP_UUID="${ESP_ID:0:4}-${ESP_ID:4:4}"
cat >"$root/etc/fstab" <<EOF
# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
UUID=$ROOT_UUID	/	ext4	errors=remount-ro	0	1
UUID=$ESP_UUID	/boot/efi	vfat	umask=0077,noauto,x-systemd.automount	0	2
EOF
mkdir -p "$root/boot/efi" "$root/boot/grub"
CMDLINE="root=UUID=$ROOT_UUID ro console=tty0 console=ttyS0,115200n8 net.ifnames=1"
# One GRUB configuration for both ways of booting; /vmlinuz and /initrd.img follow kernel upgrades.
cat >"$root/boot/grub/grub.cfg" <<EOF
set timeout=2
set default=0
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root $ROOT_UUID
menuentry "Gatehouse $GH_VERSION" {
  linux /vmlinuz $CMDLINE
  initrd /initrd.img
}
EOF
[ -e "$root/vmlinuz" ] || gh_die "no /vmlinuz symlink in the tree"
# GRUB's BIOS modules, read from the root file system by the BIOS core image.
mkdir -p "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"

# Partition table: 1 MiB BIOS boot (GRUB's core image), 127 MiB EFI system, the rest root.
disk="$work/disk.raw"
truncate -s "${DISK_GIB}G" "$disk"
sgdisk -Z "$disk" >/dev/null 2>&1 || true
sgdisk -a 2048 \
  -n 1:2048:4095 -t 1:EF02 -c 1:bios-boot \
  -n 2:4096:264191 -t 2:EF00 -c 2:esp \
  -n 3:264192:0 -t 3:8304 -c 3:gatehouse-root -u 3:"$ROOT_UUID" \
  "$disk" >/dev/null
part() { sgdisk -i "$1" "$disk" | sed -n "s/^$2 sector: \([0-9]*\).*/\1/p"; }
ESP_START="$(part 2 First)"; ESP_END="$(part 2 Last)"
ROOT_START="$(part 3 First)"; ROOT_END="$(part 3 Last)"

# EFI system partition: Debian's signed shim as the fallback loader, signed GRUB beside it,
# with a grub.cfg that hands over to the one on the root file system.
esp="$work/esp.img"
rm -f "$esp"
mkfs.vfat -F 32 -n GH-EFI -i "$ESP_ID" -C "$esp" $(((ESP_END - ESP_START + 1) / 2)) >/dev/null
cat >"$work/esp-grub.cfg" <<EOF
search --no-floppy --fs-uuid --set=root $ROOT_UUID
set prefix=(\$root)/boot/grub
configfile (\$root)/boot/grub/grub.cfg
EOF
shim="$root/usr/lib/shim/shimx64.efi.signed"
[ -f "$shim" ] || shim="$(ls "$root"/usr/lib/shim/shimx64.efi.signed* | head -n1)"
grubefi="$root/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
[ -f "$grubefi" ] || gh_die "no signed GRUB in the tree"
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/debian
mcopy -i "$esp" "$shim" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$grubefi" ::/EFI/BOOT/grubx64.efi
mcopy -i "$esp" "$root/usr/lib/shim/mmx64.efi.signed" ::/EFI/BOOT/mmx64.efi 2>/dev/null || true
mcopy -i "$esp" "$shim" ::/EFI/debian/shimx64.efi
mcopy -i "$esp" "$grubefi" ::/EFI/debian/grubx64.efi
mcopy -i "$esp" "$work/esp-grub.cfg" ::/EFI/debian/grub.cfg
mcopy -i "$esp" "$work/esp-grub.cfg" ::/EFI/BOOT/grub.cfg

# BIOS: GRUB's core image in the BIOS boot partition and boot.img in the MBR, patched to find
# it, as grub-bios-setup would (its offsets: boot.img 0x5c = first sector of the core image,
# 0x66 = two NOPs so the BIOS drive number is used as given; the last 12 bytes of the core
# image's first sector = a block list for the rest of it).
GRUBLIB="$root/usr/lib/grub/i386-pc"
if [ -f "$GRUBLIB/boot.img" ]; then
  chroot "$root" grub-mkimage -O i386-pc -o /tmp/core.img -p "(hd0,gpt3)/boot/grub" \
    biosdisk part_gpt ext2 search search_fs_uuid normal configfile linux echo serial terminal test
  core="$root/tmp/core.img"
  core_sectors=$(( ($(stat -c %s "$core") + 511) / 512 ))
  [ "$core_sectors" -le 2048 ] || gh_die "GRUB core image ($core_sectors sectors) does not fit the BIOS boot partition"
  le64() { local v=$1 i; for i in 0 1 2 3 4 5 6 7; do printf "\\$(printf '%03o' $(( (v >> (8 * i)) & 255 )))"; done; }
  cp "$GRUBLIB/boot.img" "$work/boot.img"
  le64 2048 | dd of="$work/boot.img" bs=1 seek=$((0x5c)) conv=notrunc 2>/dev/null
  printf '\x90\x90' | dd of="$work/boot.img" bs=1 seek=$((0x66)) conv=notrunc 2>/dev/null
  le64 2049 | dd of="$core" bs=1 seek=$((512 - 12)) conv=notrunc 2>/dev/null
  dd if="$work/boot.img" of="$disk" bs=1 count=440 conv=notrunc 2>/dev/null
  dd if="$core" of="$disk" bs=512 seek=2048 conv=notrunc 2>/dev/null
  rm -f "$core"
  sgdisk -A 1:set:2 "$disk" >/dev/null 2>&1 || true
else
  gh_log "no GRUB BIOS image in the tree: the disk boots by UEFI only"
fi

# Root file system straight from the tree (owners, modes and links as they are).
rootimg="$work/root.img"
rm -f "$rootimg"
mkfs.ext4 -q -F -L gatehouse-root -U "$ROOT_UUID" -O ^orphan_file,^metadata_csum_seed -E root_owner=0:0 -d "$root" \
  "$rootimg" $(((ROOT_END - ROOT_START + 1) / 2))k >"$work/mkfs.log" 2>&1 ||
  mkfs.ext4 -q -F -L gatehouse-root -U "$ROOT_UUID" -E root_owner=0:0 -d "$root" "$rootimg" $(((ROOT_END - ROOT_START + 1) / 2))k
dd if="$esp" of="$disk" bs=512 seek="$ESP_START" conv=notrunc,sparse 2>/dev/null
dd if="$rootimg" of="$disk" bs=4M oflag=seek_bytes seek=$((ROOT_START * 512)) conv=notrunc,sparse 2>/dev/null
rm -f "$rootimg" "$esp"
sgdisk -v "$disk" >/dev/null || gh_die "the partition table does not verify"

# --- qcow2 and OVA --------------------------------------------------------------------------------
mkdir -p "$GH_OUT"
gh_log "qemu-img convert: qcow2"
qemu-img convert -f raw -O qcow2 -c "$disk" "$work/$NAME.qcow2"
gh_log "qemu-img convert: streamOptimized VMDK"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic "$disk" "$work/$NAME-disk1.vmdk"
bash "$GH_ROOT/appliance/vm/ovf.sh" "$NAME" "$GH_VERSION" "$DISK_GIB" "$work/$NAME-disk1.vmdk" >"$work/$NAME.ovf"
(
  cd "$work"
  {
    printf 'SHA256(%s)= %s\n' "$NAME.ovf" "$(sha256sum "$NAME.ovf" | cut -d' ' -f1)"
    printf 'SHA256(%s)= %s\n' "$NAME-disk1.vmdk" "$(sha256sum "$NAME-disk1.vmdk" | cut -d' ' -f1)"
  } >"$NAME.mf"
  # An OVA is a tar whose first member is the descriptor (OVF 1.x, section 5.3).
  tar --format=ustar --owner=0 --group=0 --numeric-owner -cf "$NAME.ova" "$NAME.ovf" "$NAME-disk1.vmdk" "$NAME.mf"
)
mv "$work/$NAME.qcow2" "$work/$NAME.ova" "$GH_OUT/"
printf '%s\n' "$fingerprint" >"$stamp"
gh_log "built $GH_OUT/$NAME.qcow2 ($(du -h "$GH_OUT/$NAME.qcow2" | cut -f1)) and $NAME.ova ($(du -h "$GH_OUT/$NAME.ova" | cut -f1)) in $((SECONDS - start)) s"
