using ConsentHub.Consents;
using ConsentHub.Data;
using Microsoft.AspNetCore.DataProtection;

namespace ConsentHub.Validation;

public static class ValidationSetup
{
    public static IServiceCollection AddValidation(this IServiceCollection services)
    {
        services.AddOptions<ValidationOptions>().BindConfiguration(ValidationOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddMail();
        services.AddSingleton<ValidationSignal>();
        services.AddScoped<ValidationService>().AddSingleton<ValidationMeters>();
        services.AddScoped<NotificationService>();
        services.AddScoped<IChangeReaction, ValidationReaction>();
        services.AddHostedService<ValidationWorker>();
        // Antiforgery tokens verify on whichever instance the Confirm press reaches: the key ring is shared through the
        // database (Data/KeyRingProtection).
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "consenthub-antiforgery";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            // Secure whenever the request is HTTPS, including behind a TLS proxy named in ConsentHub:Proxies.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        return services;
    }
}
