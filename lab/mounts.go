package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mountAt mounts source (of type fstype) on the directory name inside
// the root, creating it if needed. The mount point is reached through a
// descriptor opened inside the root, so no link in the root can redirect
// the mount outside it.
func mountAt(r *rootFS, name, source, fstype string, flags uintptr, data string) error {
	fd, err := r.dir(name)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(source, fmt.Sprintf("/proc/self/fd/%d", fd), fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, name, err)
	}
	return nil
}

// hostView makes dir the host's root as a contained program sees it: the
// host's whole file tree bound read-only, without set-user-ID programs
// or device nodes, with
//
//   - /etc and /tmp: overlays of the host's, private and writable (the
//     lab puts its resolv.conf, hosts and nsswitch.conf there, and a
//     program may write its temporary files);
//   - /run and /var/tmp: empty tmpfs, so no host daemon's socket
//     (containerd, docker, systemd, nscd) is reachable;
//   - /dev, /proc and /sys: the lab's own (see systemMounts).
//
// The host's file systems are never written to.
func hostView(dir, work string, rootless bool) error {
	if err := unix.Mount("/", dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind the host's root: %w", err)
	}
	// The copy holds the run's own tmpfs (work); the program has no
	// business there.
	if err := unix.Unmount(filepath.Join(dir, work), unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("hide the lab's directory from the program: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(-1, dir, unix.AT_RECURSIVE, &attr); err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return inputErrorf("this kernel cannot make the host's root read-only for the program (mount_setattr needs Linux 5.12): give the program a --root")
		}
		return fmt.Errorf("make the host's root read-only: %w", err)
	}
	r, err := openRootFS(dir)
	if err != nil {
		return err
	}
	defer r.close()
	for _, d := range []string{"/etc", "/tmp"} {
		if !isDir(d) {
			continue
		}
		name := filepath.Base(d)
		fd, err := r.dir(d)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", d, err)
		}
		err = overlay(fmt.Sprintf("/proc/self/fd/%d", fd), d, filepath.Join(work, name+"-upper"), filepath.Join(work, name+"-work"), rootless)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("overlay over %s: %w", d, err)
		}
	}
	for _, d := range []string{"/run", "/var/tmp"} {
		if !isDir(d) {
			continue
		}
		if err := mountAt(r, d, "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=64m"); err != nil {
			return err
		}
	}
	return nil
}

// devices are the host device nodes a program in the lab gets.
var devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

// devLinks are /dev's usual symbolic links.
var devLinks = [][2]string{{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}}

// systemMounts gives the root the lab's own /dev (a tmpfs with the
// devices above bound in, /dev/shm), /proc of the lab's PID namespace
// (only the lab's processes are visible) and /sys of its network
// namespace (read-only; only lo). They live in the lab's mount namespace
// only.
func systemMounts(r *rootFS) error {
	if err := mountAt(r, "/dev", "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=1m"); err != nil {
		return err
	}
	for _, dev := range devices {
		if _, err := os.Stat(dev); err != nil {
			continue // /dev/tty may be absent where the lab runs
		}
		f, err := r.create(dev, 0o666)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", dev, err)
		}
		err = unix.Mount(dev, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), "", unix.MS_BIND, "")
		f.Close()
		if err != nil {
			return fmt.Errorf("bind %s: %w", dev, err)
		}
	}
	for _, l := range devLinks {
		if err := r.symlink(l[0], l[1]); err != nil {
			return err
		}
	}
	if err := mountAt(r, "/dev/shm", "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777,size=64m"); err != nil {
		return err
	}
	if err := mountAt(r, "/proc", "proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	// sysfs of the lab's network namespace; where the kernel refuses it
	// (a user namespace without a fully visible sysfs), an empty one.
	ro := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := mountAt(r, "/sys", "sysfs", "sysfs", ro, ""); err != nil {
		if err := mountAt(r, "/sys", "tmpfs", "tmpfs", ro, "size=4k"); err != nil {
			return err
		}
	}
	return nil
}

// shareDirs binds each host directory at the same path in the root,
// writable and live (Spec.Share).
func shareDirs(r *rootFS, dirs []string) error {
	for _, d := range dirs {
		if err := mountAt(r, d, d, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("--share %s: %w", d, err)
		}
	}
	return nil
}
