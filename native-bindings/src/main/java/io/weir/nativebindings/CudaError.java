package io.weir.nativebindings;

import java.util.HashMap;
import java.util.Map;

/**
 * The CUDA driver's {@code CUresult} codes (cuda.h, CUDA 13.0) with a classification Weir acts on.
 *
 * <p>The table is hand-kept rather than read from the generated bindings because touching those
 * needs {@code libcuda.so.1}, and error mapping must work on machines without a GPU.
 * {@code CudaErrorTest} checks every {@code CUDA_*} code in cuda.h against this table.
 *
 * <p>{@link Kind#STICKY} errors are the ones cuda.h documents as leaving "the process in an
 * inconsistent state" (plus a device-side assert, which kills the context, and uncorrectable
 * ECC/NVLink errors): every later call on the context fails the same way, so the device must be
 * taken out of service until the process restarts.
 */
public enum CudaError {
    SUCCESS(0, Kind.OK, "The API call returned with no errors."),
    INVALID_VALUE(1, Kind.ERROR, "This indicates that one or more of the parameters passed to the API call is not within an acceptable range of values."),
    OUT_OF_MEMORY(2, Kind.RESOURCE, "The API call failed because it was unable to allocate enough memory or other resources to perform the requested operation."),
    NOT_INITIALIZED(3, Kind.UNAVAILABLE, "This indicates that the CUDA driver has not been initialized with cuInit() or that initialization has failed."),
    DEINITIALIZED(4, Kind.UNAVAILABLE, "This indicates that the CUDA driver is in the process of shutting down."),
    PROFILER_DISABLED(5, Kind.ERROR, "This indicates profiler is not initialized for this run."),
    PROFILER_NOT_INITIALIZED(6, Kind.ERROR, "Deprecated: this error return is deprecated as of CUDA 5.0."),
    PROFILER_ALREADY_STARTED(7, Kind.ERROR, "Deprecated: this error return is deprecated as of CUDA 5.0."),
    PROFILER_ALREADY_STOPPED(8, Kind.ERROR, "Deprecated: this error return is deprecated as of CUDA 5.0."),
    STUB_LIBRARY(34, Kind.UNAVAILABLE, "This indicates that the CUDA driver that the application has loaded is a stub library."),
    CALL_REQUIRES_NEWER_DRIVER(36, Kind.ERROR, "This indicates that the API call requires a newer CUDA driver than the one currently installed."),
    DEVICE_UNAVAILABLE(46, Kind.UNAVAILABLE, "This indicates that requested CUDA device is unavailable at the current time."),
    NO_DEVICE(100, Kind.UNAVAILABLE, "This indicates that no CUDA-capable devices were detected by the installed CUDA driver."),
    INVALID_DEVICE(101, Kind.ERROR, "This indicates that the device ordinal supplied by the user does not correspond to a valid CUDA device or that the action requested is invalid for the specified device."),
    DEVICE_NOT_LICENSED(102, Kind.UNAVAILABLE, "This error indicates that the Grid license is not applied."),
    INVALID_IMAGE(200, Kind.ERROR, "This indicates that the device kernel image is invalid."),
    INVALID_CONTEXT(201, Kind.ERROR, "This most frequently indicates that there is no context bound to the current thread."),
    CONTEXT_ALREADY_CURRENT(202, Kind.ERROR, "This indicated that the context being supplied as a parameter to the API call was already the active context."),
    MAP_FAILED(205, Kind.ERROR, "This indicates that a map or register operation has failed."),
    UNMAP_FAILED(206, Kind.ERROR, "This indicates that an unmap or unregister operation has failed."),
    ARRAY_IS_MAPPED(207, Kind.ERROR, "This indicates that the specified array is currently mapped and thus cannot be destroyed."),
    ALREADY_MAPPED(208, Kind.ERROR, "This indicates that the resource is already mapped."),
    NO_BINARY_FOR_GPU(209, Kind.ERROR, "This indicates that there is no kernel image available that is suitable for the device."),
    ALREADY_ACQUIRED(210, Kind.ERROR, "This indicates that a resource has already been acquired."),
    NOT_MAPPED(211, Kind.ERROR, "This indicates that a resource is not mapped."),
    NOT_MAPPED_AS_ARRAY(212, Kind.ERROR, "This indicates that a mapped resource is not available for access as an array."),
    NOT_MAPPED_AS_POINTER(213, Kind.ERROR, "This indicates that a mapped resource is not available for access as a pointer."),
    ECC_UNCORRECTABLE(214, Kind.STICKY, "This indicates that an uncorrectable ECC error was detected during execution."),
    UNSUPPORTED_LIMIT(215, Kind.ERROR, "This indicates that the CUlimit passed to the API call is not supported by the active device."),
    CONTEXT_ALREADY_IN_USE(216, Kind.ERROR, "This indicates that the CUcontext passed to the API call can only be bound to a single CPU thread at a time but is already bound to a CPU thread."),
    PEER_ACCESS_UNSUPPORTED(217, Kind.ERROR, "This indicates that peer access is not supported across the given devices."),
    INVALID_PTX(218, Kind.ERROR, "This indicates that a PTX JIT compilation failed."),
    INVALID_GRAPHICS_CONTEXT(219, Kind.ERROR, "This indicates an error with OpenGL or DirectX context."),
    NVLINK_UNCORRECTABLE(220, Kind.STICKY, "This indicates that an uncorrectable NVLink error was detected during the execution."),
    JIT_COMPILER_NOT_FOUND(221, Kind.ERROR, "This indicates that the PTX JIT compiler library was not found."),
    UNSUPPORTED_PTX_VERSION(222, Kind.ERROR, "This indicates that the provided PTX was compiled with an unsupported toolchain."),
    JIT_COMPILATION_DISABLED(223, Kind.ERROR, "This indicates that the PTX JIT compilation was disabled."),
    UNSUPPORTED_EXEC_AFFINITY(224, Kind.ERROR, "This indicates that the CUexecAffinityType passed to the API call is not supported by the active device."),
    UNSUPPORTED_DEVSIDE_SYNC(225, Kind.ERROR, "This indicates that the code to be compiled by the PTX JIT contains unsupported call to cudaDeviceSynchronize."),
    CONTAINED(226, Kind.STICKY, "This indicates that an exception occurred on the device that is now contained by the GPU's error containment capability."),
    INVALID_SOURCE(300, Kind.ERROR, "This indicates that the device kernel source is invalid."),
    FILE_NOT_FOUND(301, Kind.ERROR, "This indicates that the file specified was not found."),
    SHARED_OBJECT_SYMBOL_NOT_FOUND(302, Kind.ERROR, "This indicates that a link to a shared object failed to resolve."),
    SHARED_OBJECT_INIT_FAILED(303, Kind.ERROR, "This indicates that initialization of a shared object failed."),
    OPERATING_SYSTEM(304, Kind.ERROR, "This indicates that an OS call failed."),
    INVALID_HANDLE(400, Kind.ERROR, "This indicates that a resource handle passed to the API call was not valid."),
    ILLEGAL_STATE(401, Kind.ERROR, "This indicates that a resource required by the API call is not in a valid state to perform the requested operation."),
    LOSSY_QUERY(402, Kind.ERROR, "This indicates an attempt was made to introspect an object in a way that would discard semantically important information."),
    NOT_FOUND(500, Kind.ERROR, "This indicates that a named symbol was not found."),
    NOT_READY(600, Kind.ERROR, "This indicates that asynchronous operations issued previously have not completed yet."),
    ILLEGAL_ADDRESS(700, Kind.STICKY, "While executing a kernel, the device encountered a load or store instruction on an invalid memory address."),
    LAUNCH_OUT_OF_RESOURCES(701, Kind.RESOURCE, "This indicates that a launch did not occur because it did not have appropriate resources."),
    LAUNCH_TIMEOUT(702, Kind.STICKY, "This indicates that the device kernel took too long to execute."),
    LAUNCH_INCOMPATIBLE_TEXTURING(703, Kind.ERROR, "This error indicates a kernel launch that uses an incompatible texturing mode."),
    PEER_ACCESS_ALREADY_ENABLED(704, Kind.ERROR, "This error indicates that a call to cuCtxEnablePeerAccess() is trying to re-enable peer access to a context which has already had peer access to it enabled."),
    PEER_ACCESS_NOT_ENABLED(705, Kind.ERROR, "This error indicates that cuCtxDisablePeerAccess() is trying to disable peer access which has not been enabled yet via cuCtxEnablePeerAccess()."),
    PRIMARY_CONTEXT_ACTIVE(708, Kind.ERROR, "This error indicates that the primary context for the specified device has already been initialized."),
    CONTEXT_IS_DESTROYED(709, Kind.ERROR, "This error indicates that the context current to the calling thread has been destroyed using cuCtxDestroy, or is a primary context which has not yet been initialized."),
    ASSERT(710, Kind.STICKY, "A device-side assert triggered during kernel execution."),
    TOO_MANY_PEERS(711, Kind.ERROR, "This error indicates that the hardware resources required to enable peer access have been exhausted for one or more of the devices passed to cuCtxEnablePeerAccess()."),
    HOST_MEMORY_ALREADY_REGISTERED(712, Kind.ERROR, "This error indicates that the memory range passed to cuMemHostRegister() has already been registered."),
    HOST_MEMORY_NOT_REGISTERED(713, Kind.ERROR, "This error indicates that the pointer passed to cuMemHostUnregister() does not correspond to any currently registered memory region."),
    HARDWARE_STACK_ERROR(714, Kind.STICKY, "While executing a kernel, the device encountered a stack error."),
    ILLEGAL_INSTRUCTION(715, Kind.STICKY, "While executing a kernel, the device encountered an illegal instruction."),
    MISALIGNED_ADDRESS(716, Kind.STICKY, "While executing a kernel, the device encountered a load or store instruction on a memory address which is not aligned."),
    INVALID_ADDRESS_SPACE(717, Kind.STICKY, "While executing a kernel, the device encountered an instruction which can only operate on memory locations in certain address spaces (global, shared, or local), but was supplied a memory address not belonging to an allowed address space."),
    INVALID_PC(718, Kind.STICKY, "While executing a kernel, the device program counter wrapped its address space."),
    LAUNCH_FAILED(719, Kind.STICKY, "An exception occurred on the device while executing a kernel."),
    COOPERATIVE_LAUNCH_TOO_LARGE(720, Kind.ERROR, "This error indicates that the number of blocks launched per grid for a kernel that was launched via either cuLaunchCooperativeKernel or cuLaunchCooperativeKernelMultiDevice exceeds the maximum number of blocks as allowed by cuOccupancyMaxActiveBlocksPerMultiprocessor or cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags times the number of multiprocessors as specified by the device attribute CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT."),
    TENSOR_MEMORY_LEAK(721, Kind.STICKY, "An exception occurred on the device while exiting a kernel using tensor memory: the tensor memory was not completely deallocated."),
    NOT_PERMITTED(800, Kind.ERROR, "This error indicates that the attempted operation is not permitted."),
    NOT_SUPPORTED(801, Kind.ERROR, "This error indicates that the attempted operation is not supported on the current system or device."),
    SYSTEM_NOT_READY(802, Kind.UNAVAILABLE, "This error indicates that the system is not yet ready to start any CUDA work."),
    SYSTEM_DRIVER_MISMATCH(803, Kind.UNAVAILABLE, "This error indicates that there is a mismatch between the versions of the display driver and the CUDA driver."),
    COMPAT_NOT_SUPPORTED_ON_DEVICE(804, Kind.UNAVAILABLE, "This error indicates that the system was upgraded to run with forward compatibility but the visible hardware detected by CUDA does not support this configuration."),
    MPS_CONNECTION_FAILED(805, Kind.ERROR, "This error indicates that the MPS client failed to connect to the MPS control daemon or the MPS server."),
    MPS_RPC_FAILURE(806, Kind.ERROR, "This error indicates that the remote procedural call between the MPS server and the MPS client failed."),
    MPS_SERVER_NOT_READY(807, Kind.ERROR, "This error indicates that the MPS server is not ready to accept new MPS client requests."),
    MPS_MAX_CLIENTS_REACHED(808, Kind.ERROR, "This error indicates that the hardware resources required to create MPS client have been exhausted."),
    MPS_MAX_CONNECTIONS_REACHED(809, Kind.ERROR, "This error indicates the the hardware resources required to support device connections have been exhausted."),
    MPS_CLIENT_TERMINATED(810, Kind.STICKY, "This error indicates that the MPS client has been terminated by the server."),
    CDP_NOT_SUPPORTED(811, Kind.ERROR, "This error indicates that the module is using CUDA Dynamic Parallelism, but the current configuration, like MPS, does not support it."),
    CDP_VERSION_MISMATCH(812, Kind.ERROR, "This error indicates that a module contains an unsupported interaction between different versions of CUDA Dynamic Parallelism."),
    STREAM_CAPTURE_UNSUPPORTED(900, Kind.ERROR, "This error indicates that the operation is not permitted when the stream is capturing."),
    STREAM_CAPTURE_INVALIDATED(901, Kind.ERROR, "This error indicates that the current capture sequence on the stream has been invalidated due to a previous error."),
    STREAM_CAPTURE_MERGE(902, Kind.ERROR, "This error indicates that the operation would have resulted in a merge of two independent capture sequences."),
    STREAM_CAPTURE_UNMATCHED(903, Kind.ERROR, "This error indicates that the capture was not initiated in this stream."),
    STREAM_CAPTURE_UNJOINED(904, Kind.ERROR, "This error indicates that the capture sequence contains a fork that was not joined to the primary stream."),
    STREAM_CAPTURE_ISOLATION(905, Kind.ERROR, "This error indicates that a dependency would have been created which crosses the capture sequence boundary."),
    STREAM_CAPTURE_IMPLICIT(906, Kind.ERROR, "This error indicates a disallowed implicit dependency on a current capture sequence from cudaStreamLegacy."),
    CAPTURED_EVENT(907, Kind.ERROR, "This error indicates that the operation is not permitted on an event which was last recorded in a capturing stream."),
    STREAM_CAPTURE_WRONG_THREAD(908, Kind.ERROR, "A stream capture sequence not initiated with the CU_STREAM_CAPTURE_MODE_RELAXED argument to cuStreamBeginCapture was passed to cuStreamEndCapture in a different thread."),
    TIMEOUT(909, Kind.ERROR, "This error indicates that the timeout specified for the wait operation has lapsed."),
    GRAPH_EXEC_UPDATE_FAILURE(910, Kind.ERROR, "This error indicates that the graph update was not performed because it included changes which violated constraints specific to instantiated graph update."),
    EXTERNAL_DEVICE(911, Kind.STICKY, "This indicates that an async error has occurred in a device outside of CUDA."),
    INVALID_CLUSTER_SIZE(912, Kind.ERROR, "Indicates a kernel launch error due to cluster misconfiguration."),
    FUNCTION_NOT_LOADED(913, Kind.ERROR, "Indiciates a function handle is not loaded when calling an API that requires a loaded function."),
    INVALID_RESOURCE_TYPE(914, Kind.ERROR, "This error indicates one or more resources passed in are not valid resource types for the operation."),
    INVALID_RESOURCE_CONFIGURATION(915, Kind.ERROR, "This error indicates one or more resources are insufficient or non-applicable for the operation."),
    KEY_ROTATION(916, Kind.ERROR, "This error indicates that an error happened during the key rotation sequence."),
    UNKNOWN(999, Kind.ERROR, "This indicates that an unknown internal error has occurred.");

    /** How Weir treats an error code. */
    public enum Kind {
        /** {@code CUDA_SUCCESS}. */
        OK,
        /** A failed call that leaves the context usable: bad argument, missing symbol, capture misuse, ... */
        ERROR,
        /** Out of device memory or launch resources: retry smaller or later; the device is healthy. */
        RESOURCE,
        /** No usable device or driver (not initialised, no device, driver mismatch, stub library, ...). */
        UNAVAILABLE,
        /** The context is corrupted; all further work fails. The device must be drained and the process restarted. */
        STICKY
    }

    private static final Map<Integer, CudaError> BY_CODE = new HashMap<>();

    static {
        for (CudaError e : values()) {
            BY_CODE.put(e.code, e);
        }
    }

    private final int code;
    private final Kind kind;
    private final String description;

    CudaError(int code, Kind kind, String description) {
        this.code = code;
        this.kind = kind;
        this.description = description;
    }

    /** The numeric {@code CUresult}. */
    public int code() {
        return code;
    }

    public Kind kind() {
        return kind;
    }

    /** True when the context is unusable after this error (see the class comment). */
    public boolean sticky() {
        return kind == Kind.STICKY;
    }

    /** The name as cuda.h spells it, e.g. {@code CUDA_ERROR_ILLEGAL_ADDRESS}. */
    public String cName() {
        return this == SUCCESS ? "CUDA_SUCCESS" : "CUDA_ERROR_" + name();
    }

    /** First sentence of cuda.h's documentation of the code (used when the driver cannot be asked). */
    public String description() {
        return description;
    }

    /** The error with this code, or {@code null} for a code this table does not know (a newer driver). */
    public static CudaError fromCode(int code) {
        return BY_CODE.get(code);
    }

    /** Sticky classification for a raw code; unknown codes are not sticky. */
    public static boolean isSticky(int code) {
        CudaError e = fromCode(code);
        return e != null && e.sticky();
    }
}
