import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// The output of a container in the foreground of the CLI, for its log: the process writes
/// to two pipes, and a thread copies each chunk to this process's stdout or stderr and to
/// the container's log (`LogWriter`, the monitor's writer, with the same rotation). The
/// thread only moves bytes; the main thread waits for the container as before
/// (`ContainerProcess.supervise`), forwarding signals.
///
/// When this process's stdout or stderr is gone (`run ... | head -1`), the tee closes that
/// pipe, so the container's next write fails as it would have on the closed stream itself.
final class OutputTee {
    let log: LogWriter
    private var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], stop: [Int32] = [-1, -1]
    private var thread: pthread_t?

    init(log: LogWriter) throws {
        self.log = log
        for i in 0..<3 {
            var p: [Int32] = [0, 0]
            guard mdl_pipe_cloexec(&p) == 0 else { closeAll(); throw EngineError.system("pipe") }
            switch i { case 0: out = p; case 1: err = p; default: stop = p }
        }
    }

    deinit { closeAll() }

    /// The container's ends.
    var stdout: Int32 { out[1] }
    var stderr: Int32 { err[1] }

    /// After the process started: its ends are its own; the copying begins.
    func begin() throws {
        close(out[1]); out[1] = -1
        close(err[1]); err[1] = -1
        let context = Unmanaged.passRetained(self).toOpaque()
        var t = pthread_t()
        guard pthread_create(&t, nil, { ctx in
            let tee = Unmanaged<OutputTee>.fromOpaque(ctx!).takeRetainedValue()
            tee.copy()
            return nil
        }, context) == 0 else {
            Unmanaged<OutputTee>.fromOpaque(context).release()
            throw EngineError.system("start the thread that copies the container's output")
        }
        thread = t
    }

    /// After the process exited: what is left in the pipes is copied (for up to 100 ms more
    /// when something the container left behind keeps a pipe open), then the log is flushed.
    func finish() {
        if let t = thread {
            var b: UInt8 = 1
            _ = write(stop[1], &b, 1)
            pthread_join(t, nil)
            thread = nil
        }
        log.flush()
        closeAll()
    }

    private func copy() {
        // SIGPIPE stays with the container: a write to a closed stream fails here instead.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        var open: [Int32: (stream: String, to: Int32)] = [out[0]: ("stdout", 1), err[0]: ("stderr", 2)]
        var draining = false
        var buf = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.keys.sorted().map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            fds.append(pollfd(fd: draining ? -1 : stop[0], events: Int16(POLLIN), revents: 0))
            let n = poll(&fds, nfds_t(fds.count), draining ? 100 : -1)
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }   // exited, and the pipes stayed open: a process it left holds them
            if fds[fds.count - 1].revents != 0 { draining = true }
            for p in fds.dropLast() where p.revents != 0 {
                guard let target = open[p.fd] else { continue }
                let got = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if got < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                guard got > 0 else { open[p.fd] = nil; continue }
                buf.withUnsafeBytes { b in
                    let chunk = UnsafeRawBufferPointer(rebasing: b[0..<got])
                    log.write(chunk, stream: target.stream)
                    if (try? FileSystem.writeAll(target.to, chunk, what: target.stream)) == nil {
                        // The reader of this stream is gone: so is the container's pipe.
                        close(p.fd)
                        if p.fd == out[0] { out[0] = -1 } else { err[0] = -1 }
                        open[p.fd] = nil
                    }
                }
            }
        }
    }

    private func closeAll() {
        for i in 0..<2 {
            for fd in [out[i], err[i], stop[i]] where fd >= 0 { close(fd) }
            out[i] = -1; err[i] = -1; stop[i] = -1
        }
    }
}
