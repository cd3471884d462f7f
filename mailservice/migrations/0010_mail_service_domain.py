import django.db.models.deletion
from django.db import migrations, models


def link_domains(apps, schema_editor):
    """Every existing mail service gets its Domain (created if missing, in the service's
    organisation). It is marked as served elsewhere: nothing is published in DNS for an
    existing domain until its owner says so."""
    MailService = apps.get_model("mailservice", "MailService")
    Domain = apps.get_model("dnszones", "Domain")
    for service in MailService.objects.filter(domain_ref__isnull=True).order_by("pk"):
        domain = Domain.objects.filter(name=service.domain).first()
        if domain is None:
            domain = Domain.objects.create(organisation_id=service.organisation_id,
                                           name=service.domain, uses_our_dns=False)
        if domain.organisation_id == service.organisation_id:
            MailService.objects.filter(pk=service.pk).update(domain_ref=domain)


class Migration(migrations.Migration):

    dependencies = [
        ('dnszones', '0001_initial'),
        ('mailservice', '0009_removal_grace_period'),
    ]

    operations = [
        migrations.AddField(
            model_name='mailservice',
            name='domain_ref',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='mail_services', to='dnszones.domain'),
        ),
        migrations.RunPython(link_domains, migrations.RunPython.noop),
    ]
