/// The annotations mdlua keeps in a container's config.json (stdlib/mdlua/spec.lua writes
/// them): what a container was created with that the OCI spec has no field for. Read only
/// through these names.
public enum Annotation {
    /// "true": `--rm`, removed when it stops.
    public static let remove = "io.mdlua.rm"
    /// "true": `-i`, a detached container's stdin stays open for `attach`.
    public static let stdin = "io.mdlua.stdin"
    /// `-u` as given ("nobody", "1000:staff"), resolved in the container's /etc/passwd.
    public static let user = "io.mdlua.user"
    /// `--cgroup-parent` (default "mdlua").
    public static let cgroupParent = "io.mdlua.cgroup-parent"
    /// "true": `--init`.
    public static let initProcess = "io.mdlua.init"
    /// `--restart` ("no", "on-failure:3", "always", "unless-stopped").
    public static let restart = "io.mdlua.restart"
    /// The health check as JSON (HealthCheck.Config).
    public static let healthcheck = "io.mdlua.healthcheck"
    /// `--stop-signal`.
    public static let stopSignal = "io.mdlua.stop-signal"
    /// `--log-opt max-size` in bytes and `max-file`.
    public static let logMaxSize = "io.mdlua.log-max-size"
    public static let logMaxFile = "io.mdlua.log-max-file"
}
