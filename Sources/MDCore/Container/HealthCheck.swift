import CKernel
#if canImport(Glibc)
import Glibc
#endif

/// A container's health check, run by its monitor: the test command is exec'd in the
/// container every `interval`; `retries` failures in a row (after `startPeriod`) make it
/// unhealthy, a success healthy again. The record keeps the status, the failing streak and
/// the last five results, as Docker's State.Health does.
public final class HealthCheck {
    public struct Config {
        public var test: [String]
        public var interval: Double
        public var timeout: Double
        public var startPeriod: Double
        public var retries: Int

        /// From the container's config (ContainerConfig.healthcheck); nil when there is none.
        public init?(json: JSON?) {
            guard let j = json, let test = j["test"]?.stringArray, !test.isEmpty else { return nil }
            switch test[0] {
            case "NONE": return nil
            case "CMD": self.test = Array(test.dropFirst())
            case "CMD-SHELL": self.test = ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")]
            default: self.test = test
            }
            if self.test.isEmpty { return nil }
            func seconds(_ k: String, _ d: Double) -> Double {
                if let v = j[k], case .double(let x) = v { return x }
                return j[k]?.int.map(Double.init) ?? d
            }
            interval = max(seconds("interval", 30), 0.1)
            timeout = max(seconds("timeout", 30), 0.1)
            startPeriod = seconds("start_period", 0)
            retries = max(Int(j["retries"]?.int ?? 3), 1)
        }
    }

    let config: Config
    let store: ContainerStore
    let spec: RuntimeSpec
    let id: String
    let began: Double
    var nextAt: Double
    var running: (pid: pid_t, started: Double, startedAt: String, output: Int32)?

    public init(config: Config, store: ContainerStore, spec: RuntimeSpec, id: String) {
        self.config = config
        self.store = store
        self.spec = spec
        self.id = id
        began = HealthCheck.now()
        nextAt = began + config.interval
        _ = try? store.modify(id) { $0.health = .object(["Status": .string("starting"), "FailingStreak": .int(0), "Log": .array([])]) }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Milliseconds until the monitor should call `tick` again.
    public func pollTimeout() -> Int32 {
        let until = running.map { $0.started + config.timeout } ?? nextAt
        return Int32(max(0, min(until - HealthCheck.now(), 3600)) * 1000) + 1
    }

    /// Starts a check when one is due, kills one that ran out of time.
    public func tick(target: pid_t) {
        let now = HealthCheck.now()
        if let r = running {
            if now - r.started > config.timeout { kill(r.pid, SIGKILL) }
            return
        }
        guard now >= nextAt else { return }
        nextAt = now + config.interval
        let out = mdl_memfd("health")
        var io = ProcessIO()
        io.stdout = out
        io.stderr = out
        let cg = store.cgroup((try? store.find(id)) ?? placeholder, spec)
        do {
            let p = try ContainerProcess.execStart(spec, target: target, args: config.test, env: [], user: nil, cwd: nil,
                                                   io: io, cgroup: try cg.join())
            running = (p.pid, now, Clock.now(), out)
        } catch {
            close(out)
            record(exitCode: (error as? StartError)?.status ?? 125, output: "\(error)", start: Clock.now())
        }
    }

    var placeholder: ContainerRecord { try! ContainerRecord(json: .object(["id": .string(id), "name": .string(id),
                                                                           "image": .string("sha256:" + String(repeating: "0", count: 64))])) }

    /// Handles an exited process if it is the running check. Returns whether it was.
    public func reaped(_ pid: pid_t, status: Int32) -> Bool {
        guard let r = running, r.pid == pid else { return false }
        running = nil
        lseek(r.output, 0, SEEK_SET)
        let bytes = (try? FileSystem.readAll(r.output, what: "health check output")) ?? []
        close(r.output)
        let timedOut = HealthCheck.now() - r.started > config.timeout
        record(exitCode: timedOut ? -1 : ContainerProcess.exitCode(status),
               output: timedOut ? "health check exceeded its timeout" : String(decoding: bytes.prefix(4096), as: UTF8.self),
               start: r.startedAt)
        return true
    }

    func record(exitCode: Int32, output: String, start: String) {
        let inStartPeriod = HealthCheck.now() - began < config.startPeriod
        _ = try? store.modify(id) { rec in
            var h = rec.health.object ?? [:]
            var streak = Int(h["FailingStreak"]?.int ?? 0)
            var status = h["Status"]?.string ?? "starting"
            if exitCode == 0 {
                streak = 0
                status = "healthy"
            } else if !inStartPeriod {
                streak += 1
                if streak >= config.retries { status = "unhealthy" }
            }
            var log = h["Log"]?.array ?? []
            log.append(.object(["Start": .string(start), "End": .string(Clock.now()), "ExitCode": .int(Int64(exitCode)),
                                "Output": .string(output)]))
            h["Log"] = .array(Array(log.suffix(5)))
            h["FailingStreak"] = .int(Int64(streak))
            h["Status"] = .string(status)
            rec.health = .object(h)
        }
    }
}
