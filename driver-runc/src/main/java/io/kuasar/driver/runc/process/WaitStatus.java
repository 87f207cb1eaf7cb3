package io.kuasar.driver.runc.process;

/**
 * Turns what waitid(2) leaves in a siginfo_t into containerd's exit code: the code itself for a normal exit,
 * 128 + signal for a process killed by a signal (with or without a core dump), as a shell reports it.
 */
final class WaitStatus {
    static final int CLD_EXITED = 1;
    static final int CLD_KILLED = 2;
    static final int CLD_DUMPED = 3;
    /** Offsets in siginfo_t on 64-bit Linux: si_code after si_signo and si_errno, si_status after si_pid, si_uid. */
    static final int SI_CODE_OFFSET = 8;
    static final int SI_PID_OFFSET = 16;
    static final int SI_STATUS_OFFSET = 24;
    static final int SIGINFO_SIZE = 128;

    private WaitStatus() {
    }

    /** The exit code for {@code siCode}/{@code siStatus}; 255 (unknown) for codes a terminated child cannot have. */
    static int exitCode(int siCode, int siStatus) {
        return switch (siCode) {
            case CLD_EXITED -> siStatus & 0xff;
            case CLD_KILLED, CLD_DUMPED -> 128 + (siStatus & 0x7f);
            default -> io.kuasar.spi.ExitStatus.UNKNOWN_CODE;
        };
    }
}
