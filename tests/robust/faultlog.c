/* qingdan tests — a failing log device without root: an LD_PRELOAD shim
 * that makes the writes and syncs of one file fail on demand.
 *
 *   QD_FAULT_FILE     the file (matched by device and inode, so any path
 *                     to it, and every descriptor open on it, counts)
 *   QD_FAULT_CONTROL  a control file; while it exists, calls on QD_FAULT_FILE
 *                     fail as its first word says:
 *                       ENOSPC (or empty)  write, writev, fsync and
 *                                          fdatasync fail with ENOSPC
 *                       EIO                the same with EIO
 *                       EIO-SYNC           only fsync and fdatasync fail
 *                                          (EIO); writes go through
 *
 * Every other call, on any other descriptor, goes to libc unchanged.  The
 * control file is read on each call, so a test switches the fault on and
 * off by creating and removing it.  Only calls through the dynamic symbols
 * are caught: qingdand's log writer calls write() and fsync() itself
 * (src/daemon/logq.c); stdio's writes inside libc are not caught. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

__attribute__((constructor)) static void resolve(void)
{
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
}

/* The errno a call on fd must fail with, or 0 to let it through.  errno is
 * left as it was. */
static int fault(int fd, bool sync)
{
	const char *ctl = getenv("QD_FAULT_CONTROL"), *file = getenv("QD_FAULT_FILE");
	if (!ctl || !file)
		return 0;
	int saved = errno, e = 0;
	int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		goto out;
	char word[16] = "";
	ssize_t n = read(cfd, word, sizeof word - 1);
	close(cfd);
	word[n > 0 ? n : 0] = '\0';
	word[strcspn(word, " \t\r\n")] = '\0';
	struct stat a, b;
	if (fstat(fd, &a) != 0 || stat(file, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		goto out;
	if (strcmp(word, "EIO") == 0)
		e = EIO;
	else if (strcmp(word, "EIO-SYNC") == 0)
		e = sync ? EIO : 0;
	else
		e = ENOSPC;
out:
	errno = saved;
	return e;
}

/* Fail as fault() says, or make the real call. */
#define FAULT_OR(fd, sync, call)            \
	do {                                \
		int e_ = fault(fd, sync);   \
		if (e_) {                   \
			errno = e_;         \
			return -1;          \
		}                           \
		return call;                \
	} while (0)

EXPORT ssize_t write(int fd, const void *p, size_t n)
{
	FAULT_OR(fd, false, real_write(fd, p, n));
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	FAULT_OR(fd, false, real_writev(fd, iov, cnt));
}

EXPORT int fsync(int fd)
{
	FAULT_OR(fd, true, real_fsync(fd));
}

EXPORT int fdatasync(int fd)
{
	FAULT_OR(fd, true, real_fdatasync(fd));
}
