using System.Text.Json;
using Iwrs.Web.Api;

namespace Iwrs.Web.Tests.Api;

/// <summary>The labels a pharmacist sees on subject packs, read from the API's shipment and inventory bodies as the web app reads them.</summary>
public sealed class KitLabelTests
{
    [Fact]
    public void ShipmentAndInventoryKits_StarterOrPackLabel_NothingOnASharedShelf()
    {
        var shipment = JsonSerializer.Deserialize<Shipment>(
            """{"shipmentId":"SH0002","siteId":"CN01","status":"dispatched","reason":"starters and packs","kitCount":3,"kits":[{"kitNumber":"A1","condition":"pending","starter":"SH0002-1"},{"kitNumber":"B2","condition":"pending","packFor":"PK-001"},{"kitNumber":"C3","condition":"pending"}],"createdAt":"2026-03-02T08:00:00+00:00"}""",
            IwrsApi.Json)!;
        Assert.Equal(["starter SH0002-1", "pack for PK-001", null], shipment.Kits.Select(k => k.Label));

        var inventory = JsonSerializer.Deserialize<Inventory>(
            """{"siteId":"CN01","available":1,"kits":[{"kitNumber":"A1","starter":"SH0002-1"}],"inTransit":0,"openShipments":[],"inPacks":[{"kitNumber":"B2","packFor":"PK-001"}]}""",
            IwrsApi.Json)!;
        Assert.Equal("starter SH0002-1", inventory.Kits[0].Label);
        Assert.Equal("PK-001", Assert.Single(inventory.InPacks!).PackFor);
    }
}
