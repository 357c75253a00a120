//! Mount attributes through `mount_setattr(2)`: per mount or recursive ones (`rro`, `rnosuid`,
//! ...), and idmapped mounts (`open_tree` + `mount_setattr(MOUNT_ATTR_IDMAP)` + `move_mount`): a view of
//! a directory whose files appear owned through a user namespace's id maps. hull stacks such
//! views of an image's layers under a remapped container's overlay, so the container's root
//! owns the image's files without a chowned copy of them.

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_EMPTY_PATH: libc::c_uint = 0x1000;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// `struct mount_attr` (linux/mount.h), version 0.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

const AT_RECURSIVE: libc::c_uint = 0x8000;

/// Sets and clears `MOUNT_ATTR_*` bits (`set`, `clr`) on the mount at `target` and, with
/// `recursive`, on every mount below it.
pub fn set_mount_attrs(target: &Path, recursive: bool, set: u64, clr: u64) -> io::Result<()> {
    let target_c = cpath(target)?;
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: `target_c` is a NUL-terminated string and `attr` a valid mount_attr whose size
    // we pass; both outlive the call and the kernel only reads them.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            target_c.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(|_| ())
}

/// MOUNT_ATTR_RDONLY (linux/mount.h).
const MOUNT_ATTR_RDONLY: u64 = 0x1;

/// A read-only clone of the mount of the file `path` (a magic link such as /proc/self/exe
/// is followed), detached: in no mount namespace, so no mount event reaches anyone. The fd
/// is an O_PATH one; what is opened through it for writing fails with EROFS.
pub fn read_only_clone(path: &Path) -> io::Result<OwnedFd> {
    detached_clone(
        path,
        MountAttr {
            attr_set: MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        },
    )
}

/// A detached clone (`open_tree(OPEN_TREE_CLONE)`) of the mount of `path`, with `attr` set on
/// it (`mount_setattr`).
fn detached_clone(path: &Path, attr: MountAttr) -> io::Result<OwnedFd> {
    let path_c = cpath(path)?;
    // SAFETY: `path_c` is a NUL-terminated string that outlives the call; open_tree reads it
    // and returns a new fd or -1.
    let tree = cvt(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path_c.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    })?;
    let tree = RawFd::try_from(tree).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    let tree = unsafe { OwnedFd::from_raw_fd(tree) };
    // SAFETY: `attr` is a valid mount_attr whose size we pass; the empty path with
    // AT_EMPTY_PATH names the detached tree behind `tree`; the kernel only reads both.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(tree)
}

/// Mounts at `target` an idmapped clone of the directory `src`, mapped through the user
/// namespace `userns`.
pub fn mount_idmapped(src: &Path, userns: BorrowedFd<'_>, target: &Path) -> io::Result<()> {
    let target_c = cpath(target)?;
    let tree = detached_clone(
        src,
        MountAttr {
            attr_set: MOUNT_ATTR_IDMAP,
            attr_clr: 0,
            propagation: 0,
            userns_fd: u64::try_from(userns.as_raw_fd()).unwrap_or(u64::MAX),
        },
    )?;
    // SAFETY: both paths are NUL-terminated strings that outlive the call; move_mount
    // attaches the detached tree at `target` and touches no memory of ours.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target_c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })?;
    Ok(())
}

/// A user namespace with these maps ("inside outside count" lines, as /proc/PID/uid_map
/// takes them), held by the returned fd. A short-lived child makes it: it unshares, waits for
/// its maps to be written, and exits once the namespace is open here.
pub fn userns_with_maps(uid_map: &str, gid_map: &str) -> io::Result<OwnedFd> {
    let (mut ready_r, mut ready_w) = std::io::pipe()?;
    let (mut done_r, mut done_w) = std::io::pipe()?;
    // SAFETY: fork in a process that may have other threads: the child only calls unshare,
    // write, read and _exit, which are async-signal-safe, and touches no locks or heap.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(done_w);
        // SAFETY: unshare takes a flag by value.
        let ok = unsafe { libc::unshare(libc::CLONE_NEWUSER) } == 0;
        let _ = ready_w.write_all(if ok { b"1" } else { b"0" });
        let mut b = [0u8; 1];
        let _ = done_r.read(&mut b);
        // SAFETY: _exit ends this child without running the parent's atexit handlers.
        unsafe { libc::_exit(0) };
    }
    drop(ready_w);
    drop(done_r);
    let res = (|| {
        let mut b = [0u8; 1];
        ready_r.read_exact(&mut b)?;
        if b[0] != b'1' {
            return Err(io::Error::other(
                "unshare(CLONE_NEWUSER) failed in the helper",
            ));
        }
        std::fs::write(format!("/proc/{pid}/uid_map"), uid_map)?;
        std::fs::write(format!("/proc/{pid}/gid_map"), gid_map)?;
        let f = std::fs::File::open(format!("/proc/{pid}/ns/user"))?;
        Ok(OwnedFd::from(f))
    })();
    let _ = done_w.write_all(b"x");
    drop(done_w);
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    res
}
