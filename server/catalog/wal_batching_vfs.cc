#include "server/catalog/wal_batching_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

namespace sluice::catalog {
namespace {

constexpr char kVfsName[] = "sluice-wal-batching";
constexpr size_t kFrameHeaderBytes = 24;
constexpr size_t kMaxPendingBytes = 1u << 20;
// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the size
// with 0x1ffff, so a larger one can come out as a zero-byte write, "disk
// full"): pending bytes go out in pieces below that.
constexpr size_t kMaxWriteBytes = 124u << 10;

sqlite3_vfs* real_vfs = nullptr;  // set once, before registration

// Our part of a WAL file, followed in the same block by the real file.
struct WalFile {
  sqlite3_file base;  // base.pMethods = &kWalMethods
  std::string pending;
  sqlite3_int64 pending_offset = 0;
  bool commit_header_written = false;  // the next write ends a commit frame

  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

WalFile* AsWal(sqlite3_file* file) { return reinterpret_cast<WalFile*>(file); }

int Flush(WalFile* wal) {
  int rc = SQLITE_OK;
  for (size_t at = 0; at < wal->pending.size() && rc == SQLITE_OK;
       at += kMaxWriteBytes) {
    const size_t size = std::min(kMaxWriteBytes, wal->pending.size() - at);
    rc = wal->real()->pMethods->xWrite(
        wal->real(), wal->pending.data() + at, static_cast<int>(size),
        wal->pending_offset + static_cast<sqlite3_int64>(at));
  }
  wal->pending.clear();
  return rc;
}

int WalClose(sqlite3_file* file) {
  WalFile* wal = AsWal(file);
  const int flushed = Flush(wal);
  const int closed = wal->real()->pMethods->xClose(wal->real());
  wal->~WalFile();
  return flushed != SQLITE_OK ? flushed : closed;
}

int WalRead(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  WalFile* wal = AsWal(file);
  if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
  return wal->real()->pMethods->xRead(wal->real(), out, amount, offset);
}

int WalWrite(sqlite3_file* file, const void* data, int amount,
             sqlite3_int64 offset) {
  WalFile* wal = AsWal(file);
  const size_t size = static_cast<size_t>(amount);
  const char* bytes = static_cast<const char*>(data);
  const bool follows =
      !wal->pending.empty() &&
      offset == wal->pending_offset +
                    static_cast<sqlite3_int64>(wal->pending.size()) &&
      wal->pending.size() + size <= kMaxPendingBytes;
  if (!follows) {
    if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
    wal->pending_offset = offset;
  }
  wal->pending.append(bytes, size);
  if (wal->commit_header_written) {
    // The commit frame's page: the commit is whole, so out it goes.
    wal->commit_header_written = false;
    return Flush(wal);
  }
  if (size == kFrameHeaderBytes) {
    // Bytes 4-7 of a frame header: the database size in pages after the
    // commit for a commit frame, zero for any other.
    uint32_t commit_size = 0;
    std::memcpy(&commit_size, bytes + 4, sizeof commit_size);
    wal->commit_header_written = commit_size != 0;
  }
  return SQLITE_OK;
}

int WalTruncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* wal = AsWal(file);
  if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
  return wal->real()->pMethods->xTruncate(wal->real(), size);
}

int WalSync(sqlite3_file* file, int flags) {
  WalFile* wal = AsWal(file);
  if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
  return wal->real()->pMethods->xSync(wal->real(), flags);
}

int WalFileSize(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* wal = AsWal(file);
  if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
  return wal->real()->pMethods->xFileSize(wal->real(), size);
}

int WalLock(sqlite3_file* file, int lock) {
  WalFile* wal = AsWal(file);
  return wal->real()->pMethods->xLock(wal->real(), lock);
}

int WalUnlock(sqlite3_file* file, int lock) {
  WalFile* wal = AsWal(file);
  return wal->real()->pMethods->xUnlock(wal->real(), lock);
}

int WalCheckReservedLock(sqlite3_file* file, int* out) {
  WalFile* wal = AsWal(file);
  return wal->real()->pMethods->xCheckReservedLock(wal->real(), out);
}

int WalFileControl(sqlite3_file* file, int op, void* arg) {
  WalFile* wal = AsWal(file);
  if (int rc = Flush(wal); rc != SQLITE_OK) return rc;
  return wal->real()->pMethods->xFileControl(wal->real(), op, arg);
}

int WalSectorSize(sqlite3_file* file) {
  WalFile* wal = AsWal(file);
  return wal->real()->pMethods->xSectorSize(wal->real());
}

int WalDeviceCharacteristics(sqlite3_file* file) {
  WalFile* wal = AsWal(file);
  return wal->real()->pMethods->xDeviceCharacteristics(wal->real());
}

// Version 1: SQLite uses shared memory and mmap only on the database file.
const sqlite3_io_methods kWalMethods = {
    1,
    WalClose,
    WalRead,
    WalWrite,
    WalTruncate,
    WalSync,
    WalFileSize,
    WalLock,
    WalUnlock,
    WalCheckReservedLock,
    WalFileControl,
    WalSectorSize,
    WalDeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags,
         int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Not a WAL: the real file fills our block, with its own methods.
    return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
  }
  WalFile* wal = new (file) WalFile();
  wal->base.pMethods = nullptr;
  const int rc = real_vfs->xOpen(real_vfs, name, wal->real(), flags, out_flags);
  if (rc != SQLITE_OK || wal->real()->pMethods == nullptr) {
    // SQLite will not call xClose on a file whose open failed.
    if (wal->real()->pMethods != nullptr) {
      wal->real()->pMethods->xClose(wal->real());
    }
    wal->~WalFile();
    file->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  wal->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) {
  return real_vfs->xDlOpen(real_vfs, name);
}
void DlError(sqlite3_vfs*, int size, char* out) {
  real_vfs->xDlError(real_vfs, size, out);
}
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) {
  real_vfs->xDlClose(real_vfs, handle);
}
int Randomness(sqlite3_vfs*, int size, char* out) {
  return real_vfs->xRandomness(real_vfs, size, out);
}
int Sleep(sqlite3_vfs*, int micros) {
  return real_vfs->xSleep(real_vfs, micros);
}
int CurrentTime(sqlite3_vfs*, double* out) {
  return real_vfs->xCurrentTime(real_vfs, out);
}
int GetLastError(sqlite3_vfs*, int size, char* out) {
  return real_vfs->xGetLastError(real_vfs, size, out);
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

sqlite3_vfs* Register() {
  real_vfs = sqlite3_vfs_find(nullptr);
  if (real_vfs == nullptr || real_vfs->iVersion < 2) return nullptr;
  static sqlite3_vfs vfs = {};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + real_vfs->szOsFile;
  vfs.mxPathname = real_vfs->mxPathname;
  vfs.zName = kVfsName;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* WalBatchingVfs() {
  static sqlite3_vfs* const vfs = Register();
  return vfs != nullptr ? vfs->zName : nullptr;
}

}  // namespace sluice::catalog
