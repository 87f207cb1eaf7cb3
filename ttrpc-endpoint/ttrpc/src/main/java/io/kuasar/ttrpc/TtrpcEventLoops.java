package io.kuasar.ttrpc;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Event loop groups for ttrpc channels: Linux epoll only, as this runs next to containerd. */
public final class TtrpcEventLoops {
    private static EventLoopGroup shared;

    private TtrpcEventLoops() {
    }

    /**
     * A new epoll group of daemon threads named {@code name-N}. The caller owns it and shuts it down.
     *
     * @throws UnsatisfiedLinkError (from Netty) when the epoll native library is missing
     */
    public static EventLoopGroup newGroup(int threads, String name) {
        Epoll.ensureAvailability();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true),
                EpollIoHandler.newFactory());
    }

    /**
     * A process-wide single-thread group, for tools and tests only (it backs
     * {@link TtrpcClient#connect(java.nio.file.Path)}). Its daemon thread lives until the JVM exits, so no bundle
     * code uses it: components own their loops ({@link #newGroup}, shut down when the component stops) or share
     * their server's ({@link TtrpcServer#eventLoopGroup()}).
     */
    public static synchronized EventLoopGroup shared() {
        if (shared == null) {
            shared = newGroup(1, "ttrpc-shared");
        }
        return shared;
    }
}
