//! The wasm's allocator: blocks of up to [`LARGEST`] bytes are kept, once freed, on a free list
//! of their size class and handed out again from it; larger ones, and the blocks a class first
//! takes, come from std's allocator (dlmalloc). An event allocates many small blocks (strings
//! and lists of the session, the event, the answer), and dlmalloc's `malloc` was the wasm's
//! busiest function in workerd (bench/HISTORY.md, "the run of 04:14 UTC"): a free list takes a
//! block in two loads and a store.
//!
//! A class keeps the blocks freed into it for the isolate's life instead of giving them back to
//! dlmalloc: what it holds is at most the most blocks of its size ever live at once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// The classes' step, and the alignment each class's blocks have.
const STEP: usize = 16;
/// How many classes: blocks of 1 to 16 bytes, 17 to 32, ... up to [`LARGEST`].
const CLASSES: usize = 32;
/// The largest block a class holds.
const LARGEST: usize = STEP * CLASSES;

/// Each class's free list: its first block, whose first word is the next one's address.
struct FreeLists(UnsafeCell<[*mut u8; CLASSES]>);

// The wasm runs on one thread (wasm32 without the `atomics` feature: `lib.rs` compiles this
// module only then), so the lists are never touched by two at once.
unsafe impl Sync for FreeLists {}

static LISTS: FreeLists = FreeLists(UnsafeCell::new([ptr::null_mut(); CLASSES]));

/// The allocator.
pub struct Heap;

#[global_allocator]
static HEAP: Heap = Heap;

/// The class of blocks of `layout`, if one holds them.
fn class(layout: Layout) -> Option<usize> {
    let fits = layout.size() > 0 && layout.size() <= LARGEST && layout.align() <= STEP;
    fits.then(|| (layout.size() - 1) / STEP)
}

/// The layout of a block of class `class` (below [`CLASSES`]), as taken from dlmalloc.
fn block(class: usize) -> Layout {
    // SAFETY: a size of at most LARGEST and an alignment of STEP, a power of two, make a layout.
    unsafe { Layout::from_size_align_unchecked((class + 1) * STEP, STEP) }
}

unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class(layout) else {
            return System.alloc(layout);
        };
        let lists = &mut *LISTS.0.get();
        let head = lists[class];
        if head.is_null() {
            return System.alloc(block(class));
        }
        lists[class] = *head.cast::<*mut u8>();
        head
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class(layout) {
            // dlmalloc zeroes only what it did not take fresh from the wasm's memory.
            None => System.alloc_zeroed(layout),
            Some(_) => {
                let ptr = self.alloc(layout);
                if !ptr.is_null() {
                    ptr.write_bytes(0, layout.size());
                }
                ptr
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class(layout) else {
            return System.dealloc(ptr, layout);
        };
        let lists = &mut *LISTS.0.get();
        *ptr.cast::<*mut u8>() = lists[class];
        lists[class] = ptr;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, layout.align());
        match (class(layout), class(new)) {
            // The block has room already.
            (Some(from), Some(to)) if from == to => ptr,
            (None, None) => System.realloc(ptr, layout, new_size),
            _ => {
                let moved = self.alloc(new);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn freed_small_blocks_are_handed_out_again_zeroed_when_asked() {
        unsafe {
            let small = Layout::from_size_align(40, 8).unwrap();
            let a = Heap.alloc(small);
            Heap.dealloc(a, small);
            // Any size of the same class (33 to 48 bytes) takes it back.
            let same_class = Layout::from_size_align(33, 1).unwrap();
            assert_eq!(Heap.alloc(same_class), a);
            // Growing within the class keeps the block; past it moves the bytes.
            a.write_bytes(7, 33);
            assert_eq!(Heap.realloc(a, same_class, 48), a);
            let moved = Heap.realloc(a, Layout::from_size_align(48, 1).unwrap(), 1000);
            assert_ne!(moved, a);
            assert!(std::slice::from_raw_parts(moved, 33)
                .iter()
                .all(|&b| b == 7));
            Heap.dealloc(moved, Layout::from_size_align(1000, 1).unwrap());
            // A block taken again is zeroed when asked.
            let c = Heap.alloc(small);
            c.write_bytes(9, 40);
            Heap.dealloc(c, small);
            let zeroed = Heap.alloc_zeroed(small);
            assert_eq!(zeroed, c);
            assert!(std::slice::from_raw_parts(zeroed, 40)
                .iter()
                .all(|&b| b == 0));
            Heap.dealloc(zeroed, small);
            // Blocks aligned beyond the classes' step are dlmalloc's.
            let aligned = Layout::from_size_align(32, 64).unwrap();
            let b = Heap.alloc(aligned);
            assert_eq!(b as usize % 64, 0);
            Heap.dealloc(b, aligned);
        }
    }

    /// Blocks of every size around the classes' bounds, allocated, grown, shrunk and freed in a
    /// shuffled order, each keeping its bytes: no block is handed out twice.
    #[wasm_bindgen_test]
    fn blocks_of_every_size_keep_their_bytes_while_others_come_and_go() {
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        let mut live: Vec<Vec<u8>> = Vec::new();
        for round in 0..4000 {
            let len = next() % (LARGEST + 64) + 1;
            let fill = (round % 251) as u8;
            let mut v = vec![fill; len];
            match next() % 4 {
                0 => v.extend(std::iter::repeat_n(fill, next() % 64)),
                1 => v.truncate(len / 2 + 1),
                _ => {}
            }
            v.shrink_to_fit();
            live.push(v);
            if live.len() > 64 {
                let gone = next() % live.len();
                live.swap_remove(gone);
            }
            for v in &live {
                assert!(v.iter().all(|&b| b == v[0]), "a block was overwritten");
            }
        }
    }
}
