//! Writing large local artifacts with `O_DIRECT`: bytes go from an aligned buffer straight to
//! the device instead of being copied into the page cache first.
//!
//! Gigabyte-sized Parquet artifacts are written once and, within a run, handed to the next
//! step in memory rather than read back, so caching their pages buys little. Copying them into
//! the page cache was 24% of the CPU time of the 10M-row feature + split benchmark (`perf`:
//! `copy_folio_from_iter_atomic`), on a machine with two cores that are also compressing.
//! Where a file system refuses `O_DIRECT` (some overlays, older tmpfs), the file is written
//! normally.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Direct I/O wants buffer addresses, offsets and lengths aligned to the logical block size,
/// which is at most 4 KiB on the devices this runs on.
const ALIGN: usize = 4096;
/// Bytes per write: large enough that each call keeps the device busy for a while.
const CHUNK: usize = 4 << 20;
/// The open flag; other systems than Linux get ordinary buffered files.
#[cfg(target_os = "linux")]
const O_DIRECT: libc::c_int = libc::O_DIRECT;
#[cfg(not(target_os = "linux"))]
const O_DIRECT: libc::c_int = 0;

pub struct DirectFile {
    file: File,
    /// `CHUNK + ALIGN` bytes, of which `buf[start..start + CHUNK]` is aligned.
    buf: Vec<u8>,
    start: usize,
    len: usize,
    direct: bool,
}

impl DirectFile {
    /// Creates (or truncates) `path`, with `O_DIRECT` where the file system supports it.
    pub fn create(path: &Path) -> io::Result<DirectFile> {
        let open = |flags| {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(flags)
                .open(path)
        };
        let (file, direct) = match open(O_DIRECT) {
            Ok(file) => (file, O_DIRECT != 0),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (open(0)?, false),
            Err(e) => return Err(e),
        };
        let buf = vec![0u8; CHUNK + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        Ok(DirectFile {
            file,
            buf,
            start,
            len: 0,
            direct,
        })
    }

    /// Writes what is buffered and closes the file. The tail that does not fill a block is
    /// written after switching direct I/O off, so the file has exactly the bytes given.
    pub fn finish(mut self) -> io::Result<()> {
        let whole = self.len / ALIGN * ALIGN;
        let tail = self.len - whole;
        self.write_buffered(whole)?;
        if tail > 0 {
            self.buffered_mode()?;
            let from = self.start + whole;
            self.file.write_all(&self.buf[from..from + tail])?;
        }
        Ok(())
    }

    /// Writes `n` bytes from the start of the buffer (`n` a multiple of `ALIGN` in direct mode).
    fn write_buffered(&mut self, n: usize) -> io::Result<()> {
        let mut done = 0;
        while done < n {
            let from = self.start + done;
            match self.file.write(&self.buf[from..self.start + n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => done += k,
                // A file system may accept O_DIRECT at open and refuse it at write.
                Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => self.buffered_mode()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            // A short direct write leaves the rest unaligned: go on without O_DIRECT.
            if self.direct && done % ALIGN != 0 {
                self.buffered_mode()?;
            }
        }
        self.buf.copy_within(self.start + n..self.start + self.len, self.start);
        self.len -= n;
        Ok(())
    }

    fn buffered_mode(&mut self) -> io::Result<()> {
        if self.direct {
            use std::os::fd::AsRawFd;
            let fd = self.file.as_raw_fd();
            // SAFETY: fcntl on a descriptor this struct owns, with flags it just read.
            let ok = unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !O_DIRECT) == 0
            };
            if !ok {
                return Err(io::Error::last_os_error());
            }
            self.direct = false;
        }
        Ok(())
    }
}

impl Write for DirectFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.len);
        let at = self.start + self.len;
        self.buf[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == CHUNK {
            self.write_buffered(CHUNK)?;
        }
        Ok(n)
    }

    /// Buffered bytes stay until a whole chunk or [`DirectFile::finish`]: a direct write of a
    /// partial block is not possible.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_exactly_the_bytes_given_across_chunks_and_tail() {
        write_and_read_back(tempfile::tempdir().unwrap());
    }

    /// The fallback a file system that refuses O_DIRECT gets, from the start or mid-file.
    #[test]
    fn buffered_fallback_writes_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let data: Vec<u8> = (0..(CHUNK + 999)).map(|i| (i % 253) as u8).collect();
        let mut f = DirectFile::create(&path).unwrap();
        f.write_all(&data[..CHUNK + 7]).unwrap();
        f.buffered_mode().unwrap();
        assert!(!f.direct);
        f.write_all(&data[CHUNK + 7..]).unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    fn write_and_read_back(dir: tempfile::TempDir) {
        let path = dir.path().join("f.bin");
        let data: Vec<u8> = (0..(2 * CHUNK + 12_345)).map(|i| (i * 7 % 251) as u8).collect();
        let mut f = DirectFile::create(&path).unwrap();
        // Odd-sized writes, as an encoder produces them.
        for piece in data.chunks(999_983) {
            f.write_all(piece).unwrap();
        }
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data);

        let mut small = DirectFile::create(&path).unwrap();
        small.write_all(b"short").unwrap();
        small.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
