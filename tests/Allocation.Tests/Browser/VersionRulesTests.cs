using System.Text.Json;
using static Microsoft.Playwright.Assertions;

namespace Allocation.Tests.Browser;

/// <summary>
/// The client's version rules (wwwroot/js/boards.js) in the browser, against a scripted connection, so every path is
/// taken on purpose: deltas buffered during a subscribe, stale ones ignored, a gap, an epoch change and a reconnect
/// each answered with a fresh snapshot.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class VersionRulesTests(BrowserApp app)
{
    private const string Script = """
        async () => {
          const { LiveBoards } = await import('/js/boards.js');
          const handlers = {};
          const snapshots = [];       // resolvers of pending SubscribeX calls, in order
          let reconnected = null;
          const connection = {
            state: 'Disconnected',
            on: (name, handler) => { handlers[name] = handler; },
            onreconnecting() {}, onclose() {},
            onreconnected(f) { reconnected = f; },
            start: async () => { connection.state = 'Connected'; },
            invoke: () => new Promise(resolve => snapshots.push(resolve)),
          };
          const status = document.createElement('div');
          status.innerHTML = '<span class="status-text"></span>';
          const live = new LiveBoards({ connection, statusElement: status });
          const rendered = [];
          live.add({
            subscribe: ['SubscribeOverview'], event: 'overviewDelta', matches: () => true,
            apply: (s, d) => ({ epoch: d.epoch, version: d.version, items: [...s.items, d.version] }),
            render: (s, change) => rendered.push(`${change.kind}:${s.epoch}:${s.version}:${s.items.join('.')}`),
          });
          const delta = (epoch, version) => handlers.overviewDelta({ epoch, version });
          const settle = () => new Promise(r => setTimeout(r, 20));
          const steps = [];

          const starting = live.start();
          await settle();
          delta('a', 6); delta('a', 8); delta('a', 7);           // arrive before the snapshot: buffered
          snapshots.shift()({ epoch: 'a', version: 6, items: [] });
          await starting; await settle();
          steps.push(status.dataset.status);

          delta('a', 8);                                            // already applied: ignored
          delta('a', 10);                                           // gap: resync
          await settle();
          steps.push(status.dataset.status);
          snapshots.shift()({ epoch: 'a', version: 10, items: [] });
          await settle();
          delta('a', 11);
          delta('b', 12);                                           // another epoch: resync
          await settle();
          snapshots.shift()({ epoch: 'b', version: 3, items: [] });
          await settle();
          reconnected();                                            // after a reconnect: resync
          await settle();
          snapshots.shift()({ epoch: 'b', version: 5, items: [] });
          await settle();
          steps.push(status.dataset.status, String(snapshots.length));
          return { rendered, steps };
        }
        """;

    [BrowserFact]
    public async Task Deltas_apply_only_in_sequence_and_gaps_epochs_and_reconnects_resync()
    {
        var page = await app.NewPageAsync("/index.html");
        await page.AddScriptTagAsync(new() { Url = "/lib/signalr/signalr.min.js" });

        var result = await page.EvaluateAsync<JsonElement>(Script);

        string[] Strings(string name) => result.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(
        [
            "snapshot:a:6:",          // the buffered 6 is not newer than the snapshot
            "delta:a:7:7",            // then 7 and 8 from the buffer, in version order
            "delta:a:8:7.8",
            "snapshot:a:10:",         // 8 ignored, 10 was a gap
            "delta:a:11:11",
            "snapshot:b:3:",          // a new epoch
            "snapshot:b:5:",          // the reconnect
        ], Strings("rendered"));
        Assert.Equal(["live", "resyncing", "live", "0"], Strings("steps"));
        Assert.Empty(app.ScriptErrors(page));
        await page.Context.CloseAsync();
    }
}
