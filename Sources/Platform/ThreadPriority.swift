/// libdispatch renices every worker thread it starts to imitate the thread's QoS class
/// (`setpriority(2)`, and "Failed to set thread priority for worker thread" in the log when that
/// fails). The unit's system call filter denies setpriority (`~@resources`, which also keeps
/// `systemd-analyze security` at its exposure), so every start put three such lines into the
/// journal, read by operators as errors. The release and test builds link with
/// `--wrap=setpriority` (Makefile), which sends libdispatch's calls here: they are declined
/// quietly, and every thread runs at the process's nice value, as under the filter anyway.
/// Nothing else in hubagent calls setpriority.
@_cdecl("__wrap_setpriority")
public func declinedSetPriority(_ which: Int32, _ who: UInt32, _ priority: Int32) -> Int32 {
    0
}
