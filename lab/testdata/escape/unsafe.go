package main

import (
	"runtime"
	"unsafe"
)

func runtimeLockOSThread() { runtime.LockOSThread() }

func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }
