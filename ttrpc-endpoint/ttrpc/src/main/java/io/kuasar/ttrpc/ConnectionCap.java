package io.kuasar.ttrpc;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Bounds what a Unix server socket takes in: at most {@code maxOpen} accepted connections at once, and new ones at
 * no more than {@code perSecond} a second (a burst of as many is allowed). Past either bound the socket stops
 * accepting, so new peers wait in the kernel's backlog, and starts again once a connection closes or the rate
 * allows. A peer looping connections (garbage, or a handshake it never finishes) then cannot make the node hold more
 * than the bound, nor spend more than a bounded share of its event loop on them; connections already open are
 * served on. containerd opens a handful. Sits in the server channel's pipeline, ahead of the bootstrap's acceptor,
 * so it sees every accepted connection first; everything runs on the server channel's event loop.
 */
public final class ConnectionCap extends ChannelInboundHandlerAdapter {
    private final int maxOpen;
    private final int perSecond;
    private final AtomicInteger open = new AtomicInteger();
    private double tokens;
    private long refilledAt = System.nanoTime();
    private boolean resumeScheduled;

    private ConnectionCap(int maxOpen, int perSecond) {
        this.maxOpen = maxOpen;
        this.perSecond = perSecond;
        this.tokens = perSecond;
    }

    /** A factory of epoll Unix server channels bounded so, for a bootstrap's channelFactory. */
    public static Supplier<ServerChannel> serverChannels(int maxOpen, int perSecond) {
        return () -> {
            EpollServerDomainSocketChannel ch = new EpollServerDomainSocketChannel();
            ch.pipeline().addLast(new ConnectionCap(maxOpen, perSecond));
            return ch;
        };
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Channel child) {
            Channel server = ctx.channel();
            open.incrementAndGet();
            refill();
            tokens -= 1;
            child.closeFuture().addListener(f -> {
                open.decrementAndGet();
                server.eventLoop().execute(() -> updateReading(server));
            });
            updateReading(server);
        }
        ctx.fireChannelRead(msg);
    }

    /** Accepts while both bounds allow; else pauses, with a timer to look again when only the rate stops it. */
    private void updateReading(Channel server) {
        refill();
        boolean roomForOne = open.get() < maxOpen;
        boolean rateAllows = tokens >= 1;
        server.config().setAutoRead(roomForOne && rateAllows);
        if (roomForOne && !rateAllows && !resumeScheduled) {
            resumeScheduled = true;
            long waitNanos = (long) ((1 - tokens) * 1_000_000_000L / perSecond);
            server.eventLoop().schedule(() -> {
                resumeScheduled = false;
                updateReading(server);
            }, Math.max(1, waitNanos), TimeUnit.NANOSECONDS);
        }
    }

    private void refill() {
        long now = System.nanoTime();
        tokens = Math.min(perSecond, tokens + (now - refilledAt) * (double) perSecond / 1_000_000_000L);
        refilledAt = now;
    }
}
