/// The annotations mdlua keeps in a container's config.json (stdlib/mdlua/spec.lua writes
/// them): how the container's process is made where the OCI spec has no field for it. Read
/// only through these names. What the container keeps beyond its process (--rm, --restart,
/// the health check, the log options) is its record's ContainerConfig.
public enum Annotation {
    /// `-u` as given ("nobody", "1000:staff"), resolved in the container's /etc/passwd.
    public static let user = "io.mdlua.user"
    /// `--cgroup-parent` (default "mdlua").
    public static let cgroupParent = "io.mdlua.cgroup-parent"
    /// "true": `--init`.
    public static let initProcess = "io.mdlua.init"
}
