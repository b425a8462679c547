using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ConsentHub.Validation;

public static class MailServices
{
    /// <summary>SMTP options (ConsentHub:Smtp, checked at start) and the mail sender.</summary>
    public static IServiceCollection AddMail(this IServiceCollection services)
    {
        services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<MailSender>();
        return services;
    }
}
