/// Where a container is in its life, as its record stores it and `ps`/`inspect` show it
/// (Docker's State.Status words).
public enum ContainerStatus: String, CaseIterable {
    /// Made, never started, or a start that did not get as far as the process.
    case created
    /// Its process runs under its monitor.
    case running
    /// Frozen by `pause` (the cgroup freezer).
    case paused
    /// Its monitor waits to start it again (a restart policy).
    case restarting
    /// Its process ended; the record holds the exit status (or why it is unknown).
    case exited
    /// A removal that did not finish, or a damaged record: `rm` finishes it.
    case dead
}
