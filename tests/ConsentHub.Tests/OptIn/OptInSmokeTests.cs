using System.Net;
using ConsentHub.Data;
using ConsentHub.Tests.Infrastructure;

namespace ConsentHub.Tests.OptIn;

public sealed class OptInSmokeTests
{
    [Theory, Providers]
    public async Task Single_opt_in_then_double_opt_in_confirmed_by_the_partner(DatabaseProvider provider)
    {
        var app = await HubApp.SharedAsync(provider);
        var (crm, client) = await OptIns.CrmAsync(app, HubApp.Unique("oi"));
        await OptIns.ExpectAsync(client.GetAsync(OptIns.ContactPath("example@example.com")), 520);
        var soi = await OptIns.ExpectAsync(OptIns.PostAsync(client, OptIns.ContactPath("example@example.com"), """
            [{"type":"C0INFOTYPE_NEWSLETTER","approval":"Zus_C0Approval"},{"type":"C0INFOTYPE_SURVEYS","approval":"Abl_C0Approval"}]
            """), 200);
        Assert.Equal("Success", soi["result"]!["status"]!.GetValue<string>());
        await OptIns.AssertViewsAgreeAsync(client, crm, "example@example.com");
        var doi = await OptIns.ExpectAsync(OptIns.PostAsync(client, OptIns.ContactPath("example@example.com"), """
            [{"type":"C0INFOTYPE_PRODUCTINFO","approval":"Zus_C0Approval","status":"C0OPTINSTATUS_REQUESTED"}]
            """), 200);
        var extRefNo = doi["extRefNo"]!.GetValue<string>();
        var flow = await OptIns.ExpectAsync(client.GetAsync(OptIns.FlowPath(extRefNo)), 200);
        Assert.Equal(OptIns.Requested, flow["optIns"]![0]!["status"]!.GetValue<string>());
        await OptIns.AssertViewsAgreeAsync(client, crm, "example@example.com");
        var replaced = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo), """
            [{"type":"C0INFOTYPE_PRODUCTINFO","approval":"Abl_C0Approval"}]
            """), 200);
        var confirmed = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "/?approval=true", ""), 200);
        Assert.Equal("OK", confirmed["result"]!["status"]!.GetValue<string>());
        Assert.Equal(3, confirmed["optIns"]!.AsArray().Count);
        await OptIns.AssertViewsAgreeAsync(client, crm, "example@example.com");
        var again = await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo) + "/?approval=true", ""), 200);
        await OptIns.ExpectAsync(OptIns.PutAsync(client, OptIns.FlowPath(extRefNo), """[{"type":"C0INFOTYPE_PRODUCTINFO","approval":"Abl_C0Approval"}]"""), 522);
        var optOut = await OptIns.ExpectAsync(OptIns.PostAsync(client, OptIns.ContactPath("example@example.com") + "/?approval=false", """[{"type":"C0INFOTYPE_NEWSLETTER"}]"""), 200);
        await OptIns.AssertViewsAgreeAsync(client, crm, "example@example.com");
        var overview = await OptIns.ExpectAsync(client.GetAsync(OptIns.ContactPath("example@example.com")), 200);
        Assert.Equal(3, overview["optIns"]!.AsArray().Count);
        Assert.False(overview["properties"]!["adBlocked"]!.GetValue<bool>());
        await OptIns.ExpectAsync(client.GetAsync(OptIns.FlowPath(Guid.NewGuid().ToString())), 521);
        await OptIns.ExpectAsync(OptIns.PostAsync(client, OptIns.ContactPath("x@example.com"), """[{"type":"NOPE","approval":"Zus_C0Approval"}]"""), 522);
    }
}
