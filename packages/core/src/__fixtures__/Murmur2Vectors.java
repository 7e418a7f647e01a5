// Test vectors computed by Kafka's own Java client: murmur2 and the default partitioner's choice.
// Regenerate (from the repo root, after `npm test` or `npm run demo` resolved Kafka's jars):
//   java -cp "$HOME/.cache/topicflow/kafka-4.1.1/libs/*" packages/core/src/__fixtures__/Murmur2Vectors.java \
//     > packages/core/src/__fixtures__/murmur2-java.json
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

public class Murmur2Vectors {
  static final int[] COUNTS = {1, 2, 3, 5, 6, 7, 10, 12, 16, 32, 64, 100, 1000};

  public static void main(String[] args) {
    List<byte[]> keys = new ArrayList<>();
    keys.add(new byte[0]);
    for (int b = 0; b < 256; b += 17) keys.add(new byte[] {(byte) b});
    for (String s : new String[] {"a", "ab", "abc", "abcd", "abcde", "customer-123", "héllo", "日本語", "🍕 pizza", "21", "foobar"}) {
      keys.add(s.getBytes(StandardCharsets.UTF_8));
    }
    for (int i = 1; i <= 50; i++) keys.add(("store-" + i).getBytes(StandardCharsets.UTF_8));
    StringBuilder grow = new StringBuilder();
    for (int i = 1; i <= 40; i++) {
      grow.append((char) ('a' + i % 26));
      keys.add(grow.toString().getBytes(StandardCharsets.UTF_8));
    }
    Random random = new Random(42);
    for (int length = 0; length <= 64; length++) {
      byte[] key = new byte[length];
      random.nextBytes(key);
      keys.add(key);
    }
    StringBuilder out = new StringBuilder();
    out.append("{\"generatedBy\":\"kafka-clients ").append(org.apache.kafka.common.utils.AppInfoParser.getVersion())
        .append(" Utils.murmur2 / BuiltInPartitioner.partitionForKey\",\"vectors\":[\n");
    for (int k = 0; k < keys.size(); k++) {
      byte[] key = keys.get(k);
      int hash = Utils.murmur2(key);
      out.append("{\"keyHex\":\"").append(hex(key)).append("\",\"murmur2\":").append(hash)
          .append(",\"positive\":").append(Utils.toPositive(hash)).append(",\"partitions\":{");
      for (int c = 0; c < COUNTS.length; c++) {
        if (c > 0) out.append(',');
        out.append('"').append(COUNTS[c]).append("\":").append(BuiltInPartitioner.partitionForKey(key, COUNTS[c]));
      }
      out.append("}}").append(k + 1 < keys.size() ? ",\n" : "\n");
    }
    out.append("]}");
    System.out.println(out);
  }

  static String hex(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    for (byte b : bytes) sb.append(String.format("%02x", b));
    return sb.toString();
  }
}
