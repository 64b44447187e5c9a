-- The default seccomp profile: what Docker's default profile refuses to a container with
-- the default capabilities, in OCI form (linux.seccomp). Groups a capability re-allows
-- are dropped when the container has it (--cap-add), as Docker's profile does.
--
-- Docker's profile is an allow-list; this is the same refusals written as a deny-list
-- (default allow), so a system call newer than this list is allowed.
local M = {}

local EPERM = 1

-- Refused unless the container holds the capability.
local by_capability = {
  CAP_SYS_ADMIN = { "mount", "umount", "umount2", "pivot_root", "setns", "unshare", "bpf", "fsconfig", "fsmount",
                    "fsopen", "fspick", "move_mount", "open_tree", "mount_setattr", "quotactl", "quotactl_fd",
                    "lookup_dcookie", "perf_event_open", "name_to_handle_at", "fanotify_init", "swapon", "swapoff" },
  CAP_SYS_MODULE = { "create_module", "delete_module", "init_module", "finit_module", "query_module" },
  CAP_SYS_TIME = { "clock_adjtime", "clock_settime", "settimeofday", "stime", "adjtimex" },
  CAP_SYS_BOOT = { "reboot", "kexec_load", "kexec_file_load" },
  CAP_SYS_PTRACE = { "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd" },
  CAP_SYS_RAWIO = { "ioperm", "iopl" },
  CAP_SYS_NICE = { "get_mempolicy", "mbind", "set_mempolicy", "move_pages", "set_mempolicy_home_node" },
  CAP_SYS_PACCT = { "acct" },
  CAP_SYSLOG = { "syslog" },
  CAP_DAC_READ_SEARCH = { "open_by_handle_at" },
}

-- Refused to every container (no capability gives them back).
local always = { "add_key", "keyctl", "request_key", "get_kernel_syms", "nfsservctl", "sysfs", "_sysctl",
                 "uselib", "userfaultfd", "ustat", "vm86", "vm86old", "iopl", "lsm_set_self_attr" }

local CLONE_NEW = {
  0x00020000, -- CLONE_NEWNS
  0x02000000, -- CLONE_NEWCGROUP
  0x04000000, -- CLONE_NEWUTS
  0x08000000, -- CLONE_NEWIPC
  0x10000000, -- CLONE_NEWUSER
  0x20000000, -- CLONE_NEWPID
  0x40000000, -- CLONE_NEWNET
}

-- The profile for a container holding `caps` (a set: caps.CAP_SYS_ADMIN = true).
function M.default(caps)
  local syscalls = {}
  local names = {}
  for _, n in ipairs(always) do names[#names + 1] = n end
  for cap, list in pairs(by_capability) do
    if not caps[cap] then
      for _, n in ipairs(list) do names[#names + 1] = n end
    end
  end
  table.sort(names)
  syscalls[1] = { names = names, action = "SCMP_ACT_ERRNO", errnoRet = EPERM }
  if not caps.CAP_SYS_ADMIN then
    -- New namespaces through clone: refused per flag (the deny-list form of Docker's
    -- "flags & CLONE_NEW* == 0" rule). clone3 hides its flags in memory: ENOSYS makes libc
    -- fall back to clone, as with Docker.
    for _, flag in ipairs(CLONE_NEW) do
      syscalls[#syscalls + 1] = { names = { "clone" }, action = "SCMP_ACT_ERRNO", errnoRet = EPERM,
        args = { { index = 0, value = flag, valueTwo = flag, op = "SCMP_CMP_MASKED_EQ" } } }
    end
    syscalls[#syscalls + 1] = { names = { "clone3" }, action = "SCMP_ACT_ERRNO", errnoRet = 38 }
  end
  -- personality: only the harmless personas, as Docker allows.
  syscalls[#syscalls + 1] = { names = { "personality" }, action = "SCMP_ACT_ERRNO", errnoRet = EPERM,
    args = { { index = 0, value = 0x0400000, valueTwo = 0x0400000, op = "SCMP_CMP_MASKED_EQ" } } } -- ADDR_NO_RANDOMIZE is fine; READ_IMPLIES_EXEC is not
  return { defaultAction = "SCMP_ACT_ALLOW", architectures = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" },
           syscalls = syscalls }
end

return M
