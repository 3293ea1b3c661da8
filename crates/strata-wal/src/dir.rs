//! Directory-level helpers: listing segments, fsyncing the directory,
//! quarantining corrupt segments.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Result, WalError};
use crate::format::{
    parse_corrupt_file_name, parse_segment_file_name, segment_file_name, CORRUPT_SUFFIX,
};
use crate::SegmentId;

/// Ids of the segment files (`{id:020}.wal`) in `dir`, ascending. Other files
/// (quarantined `.corrupt` segments, temporary files, ...) are ignored. A
/// directory that does not exist holds no segments.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentId>> {
    let mut ids = Vec::new();
    scan(dir, |name| {
        if let Some(id) = parse_segment_file_name(name) {
            ids.push(id);
        }
    })?;
    ids.sort_unstable();
    Ok(ids)
}

/// Path of segment `id` inside `dir`.
pub fn segment_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(segment_file_name(id))
}

/// Highest id used by any segment file in `dir`, quarantined ones included,
/// so a new segment never reuses the id of a `.corrupt` file.
pub(crate) fn highest_used_id(dir: &Path) -> Result<Option<SegmentId>> {
    let mut max = None;
    scan(dir, |name| {
        let id = parse_segment_file_name(name).or_else(|| parse_corrupt_file_name(name));
        if let Some(id) = id {
            max = max.max(Some(id));
        }
    })?;
    Ok(max)
}

fn scan(dir: &Path, mut f: impl FnMut(&str)) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(WalError::io("list directory", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            f(name);
        }
    }
    Ok(())
}

/// Makes creations, renames and deletions in `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io("fsync directory", dir, e))
}

/// Renames `path` to `path.corrupt` (or `path.corrupt.N` if that already
/// exists) and fsyncs the directory. Returns the new path.
pub(crate) fn quarantine(dir: &Path, path: &Path) -> Result<PathBuf> {
    let base = path.as_os_str().to_owned();
    let mut target = base.clone();
    target.push(CORRUPT_SUFFIX);
    let mut n = 0u32;
    while Path::new(&target).exists() {
        n += 1;
        target = base.clone();
        target.push(format!("{CORRUPT_SUFFIX}.{n}"));
    }
    let target = PathBuf::from(target);
    fs::rename(path, &target).map_err(|e| WalError::io("rename corrupt segment", path, e))?;
    fsync_dir(dir)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_only_segment_files_sorted() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for id in [10u64, 2, 33] {
            fs::write(segment_path(d, id), b"").unwrap();
        }
        fs::write(d.join("00000000000000000050.wal.corrupt"), b"").unwrap();
        fs::write(d.join("notes.txt"), b"").unwrap();
        fs::create_dir(d.join("sub")).unwrap();
        assert_eq!(list_segments(d).unwrap(), vec![2, 10, 33]);
        assert_eq!(highest_used_id(d).unwrap(), Some(50));
        assert_eq!(
            list_segments(&d.join("missing")).unwrap(),
            Vec::<u64>::new()
        );
        assert_eq!(highest_used_id(&d.join("missing")).unwrap(), None);
    }

    #[test]
    fn quarantine_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let p = segment_path(d, 3);
        fs::write(&p, b"first").unwrap();
        let q1 = quarantine(d, &p).unwrap();
        fs::write(&p, b"second").unwrap();
        let q2 = quarantine(d, &p).unwrap();
        assert_ne!(q1, q2);
        assert!(q1.to_str().unwrap().ends_with(".wal.corrupt"));
        assert!(q2.to_str().unwrap().ends_with(".wal.corrupt.1"));
        assert_eq!(fs::read(&q1).unwrap(), b"first");
        assert_eq!(fs::read(&q2).unwrap(), b"second");
        assert!(!p.exists());
    }
}
