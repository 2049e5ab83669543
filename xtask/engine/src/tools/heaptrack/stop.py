# gdb script: calls heaptrack_stop() in the process gdb is attached to, on a
# thread that holds none of the locks heaptrack_stop() takes.
#
# gdb stops every thread wherever it is. heaptrack_stop() takes heaptrack's
# own lock and frees memory; called on a thread stopped inside heaptrack's
# allocation hook (which holds that lock, and is where a busy allocating
# thread spends much of its time) or inside the allocator (which holds an
# arena lock), it waits for itself for ever. So the call goes to a thread
# with no such frame; when every thread has one, the first is first run out
# of them (`finish`: those frames return soon, unlike a thread waiting in a
# syscall, which must not be finished).
import sys

import gdb

ALLOCATOR_WORDS = ("malloc", "free", "realloc", "calloc", "memalign", "aligned_alloc")


def unsafe(frame):
    library = gdb.solib_name(frame.pc()) or ""
    name = frame.name() or ""
    return "libheaptrack" in library or any(word in name for word in ALLOCATOR_WORDS)


def outermost_unsafe(thread):
    """The depth of the outermost heaptrack or allocator frame, or None."""
    thread.switch()
    frame, depth, found = gdb.newest_frame(), 0, None
    while frame is not None and depth < 256:
        if unsafe(frame):
            found = depth
        try:
            frame = frame.older()
        except gdb.error:
            break
        depth += 1
    return found


threads = sorted(gdb.selected_inferior().threads(), key=lambda t: t.num)
chosen = next((t for t in threads if outermost_unsafe(t) is None), None)
if chosen is None:
    chosen = threads[0]
    for _ in range(8):
        depth = outermost_unsafe(chosen)
        if depth is None:
            break
        frame = gdb.newest_frame()
        for _ in range(depth):
            frame = frame.older()
        frame.select()
        gdb.execute("finish", to_string=True)
chosen.switch()
gdb.execute("call (void) heaptrack_stop()", to_string=True)
sys.stderr.write("xtask: heaptrack_stop() returned in thread %d\n" % chosen.num)
