using System.Net;
using Iwrs.Domain.Supply;
using Iwrs.Functions.Hosting;
using Iwrs.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>
/// Attacker review 11: the order kits are stored, listed or worked through in must not follow their types. Rows are
/// read in key order, and some keys, like the depot's pick list, run type by type. Each test runs the same public
/// actions under two secrets that share the public facts: the same kit numbers and the same count of each type.
/// </summary>
public sealed class KitOrderTests
{
    private const string Site = "CN01";

    /// <summary>
    /// A pharmacist receives a shipment by SMS (<c>RECV</c>), so the receipt follows the stored shipment's kit list.
    /// The depot picked that list type by type, and the blinded study manager read the <c>shipment.received</c> record's
    /// kits in that order: the first four were the probiotic kits. The record now lists kits in kit-number order under
    /// both secrets.
    /// </summary>
    [Fact]
    public async Task SmsReceipt_BlindedAuditTrailListsTheKitsInTheSameOrderWhicheverAreWhichType()
    {
        var numbers = BlindSecret.Numbers(8);
        var secrets = new[]
        {
            BlindSecret.Spelled(BlindSecret.Seed(1), numbers, "LLPLPPLP"),
            BlindSecret.Spelled(BlindSecret.Seed(1), numbers, "LPLLPPPL"),
        };

        var listed = new List<IReadOnlyList<string>>();
        foreach (var secret in secrets)
        {
            await using var run = await BlindRun.StartAsync(secret);
            var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 4, ["PBO-CAPS"] = 4 } });
            var id = shipment.GetProperty("shipmentId").GetString()!;
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/dispatch");
            Assert.Contains("8 of 8 kits received ok", await run.Sms(BlindRun.Pharmacist(Site), $"RECV {BlindRun.Study} {id} {Sms.SmsHarness.Pin}"), StringComparison.Ordinal);

            var audit = await run.Trial.Ok(BlindRun.Manager, HttpMethod.Get, "audit");
            var received = audit.EnumerateArray().Single(r => r.GetProperty("action").GetString() == "shipment.received");
            listed.Add([.. received.GetProperty("changes").EnumerateArray()
                .Select(c => c.GetProperty("field").GetString()!)
                .Where(f => f.StartsWith("kit:", StringComparison.Ordinal))
                .Select(f => f["kit:".Length..])]);
        }

        Assert.Equal(numbers, listed[0]);
        Assert.Equal(listed[0], listed[1]);
    }

    /// <summary>
    /// A shipment of 20 + 20 loses one kit at receipt, so its 39 ok kits wait, set aside, for the replacement. The
    /// replacement's release returns as many as its transaction holds, and the rest follow in later transactions. Read
    /// in row-key order (<c>aside|{site}|{type}|…</c>), the first transaction brought back every probiotic kit, and
    /// the placebo kits waited. If the request stopped there (storage made to fail here), the placebo kits stayed set
    /// aside until the hourly timer. Meanwhile the shelf could be dispensed from, and a kit of that shipment meant
    /// probiotic. Now the kits return in a secret random order drawn from kit-number order. With the same random stream
    /// (seeded here), the kits left waiting are the same kit numbers under both secrets. Under each secret they are
    /// not all of one type.
    /// </summary>
    [Fact]
    public async Task LargeSetAside_StoppedAfterTheFirstTransaction_KitsLeftWaitingDoNotFollowTheirTypes()
    {
        // Lot 1 is the first shipment exactly, so both secrets ship the same 40 kit numbers; lot 2 (later) is for the replacement.
        var first = BlindSecret.Drawn(BlindSecret.Seed(1), BlindSecret.Numbers(40), seed: 11);
        var second = BlindSecret.Drawn(BlindSecret.Seed(1), first.Kits.Select(k => k.Number).ToList(), seed: 12);
        Assert.NotEqual(first.Kits, second.Kits);
        var more = BlindSecret.Drawn(BlindSecret.Seed(1), BlindSecret.Numbers(10), seed: 13).Kits;

        var waiting = new List<IReadOnlyList<string>>();
        foreach (var secret in new[] { first, second })
        {
            var fault = new BatchFault();
            await using var run = await BlindRun.StartAsync(secret, services: s =>
            {
                s.AddSingleton<IRandomSource>(new SeededRandom(2026));
                s.AddHttpClient(StorageSetup.HttpClientName).AddHttpMessageHandler(() => fault);
            });
            await run.ImportMoreAsync(more, lot: "LOT-2", expiry: "2028-12-31");

            var shipment = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, "shipments", new { siteId = Site, kits = new Dictionary<string, int> { ["LJ-CAPS"] = 20, ["PBO-CAPS"] = 20 } });
            var id = shipment.GetProperty("shipmentId").GetString()!;
            var numbers = shipment.GetProperty("kits").EnumerateArray().Select(k => k.GetProperty("kitNumber").GetString()!).ToList();
            Assert.Equal(secret.Kits.Select(k => k.Number).Order(StringComparer.Ordinal), numbers.Order(StringComparer.Ordinal));
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/dispatch");
            await run.Trial.Ok(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{id}/receive", new { kits = numbers.Order(StringComparer.Ordinal).Select((n, i) => new { kitNumber = n, condition = i == 0 ? "damaged" : "ok" }) });
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{id}/release");
            var replacement = (await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, "shipments")).EnumerateArray().Single(s => s.GetProperty("reason").GetString() == "replacement");
            var replacementId = replacement.GetProperty("shipmentId").GetString()!;
            await run.Trial.Ok(BlindRun.Depot, HttpMethod.Post, $"shipments/{replacementId}/dispatch");

            // Received all ok, the replacement is released in the receipt's transaction; every transaction after it fails.
            fault.Armed = true;
            var (status, _) = await run.Trial.Send(BlindRun.Pharmacist(Site), HttpMethod.Post, $"shipments/{replacementId}/receive",
                new { kits = replacement.GetProperty("kits").EnumerateArray().Select(k => new { kitNumber = k.GetProperty("kitNumber").GetString(), condition = "ok" }) });
            fault.Armed = false;
            Assert.NotEqual(HttpStatusCode.OK, status);

            var view = await run.Trial.Ok(BlindRun.Depot, HttpMethod.Get, $"sites/{Site}/inventory");
            var aside = view.GetProperty("setAside").EnumerateArray().Select(k => (Number: k.GetProperty("kitNumber").GetString()!, Type: k.GetProperty("kitType").GetString()!)).ToList();
            Assert.InRange(aside.Count, 1, 38);
            Assert.Equal(2, aside.Select(k => k.Type).Distinct().Count());
            waiting.Add([.. aside.Select(k => k.Number).Order(StringComparer.Ordinal)]);
        }

        Assert.Equal(waiting[0], waiting[1]);
    }

    /// <summary>
    /// While armed, lets one entity-group transaction ($batch) through and fails every later one. This stands for an
    /// instance that stops between two transactions, or a request its caller aborts.
    /// </summary>
    private sealed class BatchFault : DelegatingHandler
    {
        private int _passed;

        public volatile bool Armed;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Armed && request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath.EndsWith("$batch", StringComparison.Ordinal) && Interlocked.Increment(ref _passed) > 1)
            {
                throw new HttpRequestException("injected: the instance stopped between two transactions");
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
