package io.seedpipe.opensearch;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.env.Environment;
import org.opensearch.geo.GeoModulePlugin;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.percolator.PercolatorPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node on 127.0.0.1 with the modules seedpipe needs on the classpath (HTTP, geo,
 * percolator, and painless for terms_set's script): single-node discovery, data in a temporary
 * directory removed on exit, no security plugin. Prints {@code OPENSEARCH_URL=http://127.0.0.1:PORT} once the cluster is yellow and runs
 * until SIGINT/SIGTERM.
 *
 * <p>Usage: {@code Main [--port N]} (0 or absent: a free port).
 */
public final class Main {
    private static final List<Class<? extends Plugin>> PLUGINS =
            List.of(Netty4Plugin.class, GeoModulePlugin.class, PercolatorPlugin.class,
                    PainlessPlugin.class);

    /** Node's plugin-taking constructor is protected: this is the whole reason for the class. */
    static final class PluginNode extends Node {
        PluginNode(Environment environment) {
            super(environment, PLUGINS, true);
        }
    }

    private Main() {}

    public static void main(String[] args) throws Exception {
        int port = 0;
        for (int i = 0; i < args.length; i++) {
            if ("--port".equals(args[i]) && i + 1 < args.length) {
                port = Integer.parseInt(args[++i]);
            } else {
                System.err.println("usage: Main [--port N]");
                System.exit(2);
            }
        }
        if (port == 0) {
            port = freePort();
        }
        Path home = Files.createTempDirectory("seedpipe-opensearch-");
        Settings settings = Settings.builder()
                .put("cluster.name", "seedpipe-dev")
                .put("node.name", "seedpipe-dev-0")
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("network.host", "127.0.0.1")
                .put("http.port", port)
                .put("transport.port", freePort())
                .put("discovery.type", "single-node")
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                // as Elasticsearch 8 does: index deletes must name their indices
                .put("action.destructive_requires_name", true)
                // terms_set over the 10,000 data types a query may name counts each as a clause
                .put("indices.query.bool.max_clause_count", 16384)
                // a busy shared disk must not turn indices read-only under the tests
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.configureWithoutConfig(settings);
        Configurator.setRootLevel(Level.WARN);

        Node node = new PluginNode(
                InternalSettingsPreparer.prepareEnvironment(
                        settings, java.util.Map.of(), null, () -> "seedpipe-dev-0"));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (IOException e) {
                System.err.println("closing the node failed: " + e);
            } finally {
                deleteTree(home);
                stopped.countDown();
            }
        }, "seedpipe-opensearch-stop"));

        node.start();
        node.client().admin().cluster().prepareHealth()
                .setWaitForYellowStatus()
                .setTimeout(TimeValue.timeValueSeconds(120))
                .get();
        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        int bound = http.boundAddress().publishAddress().getPort();
        System.out.println("OPENSEARCH_URL=http://127.0.0.1:" + bound);
        System.out.flush();
        stopped.await();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not remove " + root + ": " + e);
        }
    }
}
