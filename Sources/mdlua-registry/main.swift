#if canImport(Glibc)
import Glibc
#endif
import MDRegistry

// The program mdlua runs to talk to registries (Sources/MDRegistry/RegistryCommand.swift).
exit(RegistryCommand.main())
