import CLibFuzzer
import Glibc

// SwiftPM gives an executable target its own main, so hand argv to libFuzzer from here.
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzExchange(data, size) })
